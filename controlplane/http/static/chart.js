// A small canvas chart for one contract: the would-deny ratio (left axis) and actual denies
// per second (right axis) over the last few minutes, the gate threshold as a dashed line,
// and the ramp's stages as shaded bands behind the lines. Hand-drawn: no dependency.

const STAGE_FILLS = ['rgba(79,163,255,0.06)', 'rgba(163,113,247,0.10)', 'rgba(227,179,65,0.09)', 'rgba(63,185,80,0.10)', 'rgba(79,163,255,0.12)'];
const COLORS = { would: '#e3b341', actual: '#f85149', gate: '#8b949e', grid: '#222a33', text: '#7d8896', band: '#3a4552' };

/**
 * @param {HTMLCanvasElement} canvas
 * @param {{ points: Array<{t:number, ratio:number|null, actualPerSec:number, stageIndex:number, stageName:string}>,
 *           windowMs: number, nowMs: number, gateRatio: number|null, rollbackPerSec: number|null }} data
 */
export function drawChart(canvas, data) {
  const dpr = window.devicePixelRatio || 1;
  const cssW = canvas.clientWidth || 600;
  const cssH = canvas.clientHeight || 190;
  if (canvas.width !== Math.round(cssW * dpr) || canvas.height !== Math.round(cssH * dpr)) {
    canvas.width = Math.round(cssW * dpr);
    canvas.height = Math.round(cssH * dpr);
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, cssW, cssH);
  ctx.font = '10px ui-monospace, Menlo, Consolas, monospace';

  const pad = { l: 44, r: 40, t: 16, b: 18 };
  const w = cssW - pad.l - pad.r;
  const h = cssH - pad.t - pad.b;
  const t1 = data.nowMs;
  const t0 = t1 - data.windowMs;
  const x = (t) => pad.l + ((t - t0) / data.windowMs) * w;
  const points = data.points.filter((p) => p.t >= t0 - 5000);

  // Scales: ratio in percent (at least 1% tall so a zero line is visible), denies/s.
  const maxRatio = Math.max(0.01, data.gateRatio ?? 0, ...points.map((p) => p.ratio ?? 0)) * 1.15;
  const maxActual = Math.max(1, data.rollbackPerSec ?? 0, ...points.map((p) => p.actualPerSec)) * 1.15;
  const yL = (r) => pad.t + h - (r / maxRatio) * h;
  const yR = (v) => pad.t + h - (v / maxActual) * h;

  // Stage bands.
  let bandStart = 0;
  for (let i = 0; i < points.length; i++) {
    const p = points[i];
    const next = points[i + 1];
    if (!next || next.stageIndex !== p.stageIndex) {
      const xa = Math.max(pad.l, x(points[bandStart].t));
      const xb = Math.min(pad.l + w, next ? x(next.t) : pad.l + w);
      if (xb > xa) {
        ctx.fillStyle = STAGE_FILLS[p.stageIndex % STAGE_FILLS.length];
        ctx.fillRect(xa, pad.t, xb - xa, h);
        ctx.strokeStyle = COLORS.band;
        ctx.beginPath();
        ctx.moveTo(Math.round(xa) + 0.5, pad.t);
        ctx.lineTo(Math.round(xa) + 0.5, pad.t + h);
        ctx.stroke();
        ctx.fillStyle = COLORS.text;
        if (xb - xa > 40) ctx.fillText(p.stageName || `stage ${p.stageIndex}`, xa + 4, pad.t - 4);
      }
      bandStart = i + 1;
    }
  }

  // Grid and axes.
  ctx.strokeStyle = COLORS.grid;
  ctx.fillStyle = COLORS.text;
  ctx.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const yy = Math.round(pad.t + (h * i) / 4) + 0.5;
    ctx.beginPath();
    ctx.moveTo(pad.l, yy);
    ctx.lineTo(pad.l + w, yy);
    ctx.stroke();
    const r = maxRatio * (1 - i / 4);
    ctx.textAlign = 'right';
    ctx.fillText(`${(r * 100).toFixed(r < 0.01 ? 2 : 1)}%`, pad.l - 4, yy + 3);
    ctx.textAlign = 'left';
    ctx.fillText(`${(maxActual * (1 - i / 4)).toFixed(1)}/s`, pad.l + w + 4, yy + 3);
  }
  ctx.textAlign = 'center';
  for (let k = 0; k <= 4; k++) {
    const t = t0 + (data.windowMs * k) / 4;
    const ago = Math.round((t1 - t) / 1000);
    ctx.fillText(ago === 0 ? 'now' : `-${ago >= 60 ? `${(ago / 60).toFixed(ago % 60 ? 1 : 0)}m` : `${ago}s`}`, x(t), cssH - 4);
  }
  ctx.textAlign = 'left';

  // Gate threshold (would-deny ratio) and the rollback threshold (actual denies/s).
  ctx.setLineDash([4, 3]);
  if (data.gateRatio !== null && data.gateRatio !== undefined) {
    ctx.strokeStyle = COLORS.gate;
    const gy = Math.round(yL(data.gateRatio)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(pad.l, gy);
    ctx.lineTo(pad.l + w, gy);
    ctx.stroke();
    ctx.fillStyle = COLORS.gate;
    ctx.fillText(`gate ≤ ${(data.gateRatio * 100).toFixed(2)}%`, pad.l + 4, gy - 3);
  }
  if (data.rollbackPerSec !== null && data.rollbackPerSec !== undefined) {
    ctx.strokeStyle = 'rgba(248,81,73,0.55)';
    const ry = Math.round(yR(data.rollbackPerSec)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(pad.l, ry);
    ctx.lineTo(pad.l + w, ry);
    ctx.stroke();
    ctx.fillStyle = 'rgba(248,81,73,0.8)';
    ctx.textAlign = 'right';
    ctx.fillText(`rollback > ${data.rollbackPerSec.toFixed(2)}/s`, pad.l + w - 4, ry - 3);
    ctx.textAlign = 'left';
  }
  ctx.setLineDash([]);

  const line = (color, value, y) => {
    ctx.strokeStyle = color;
    ctx.lineWidth = 1.6;
    ctx.beginPath();
    let started = false;
    for (const p of points) {
      const v = value(p);
      if (v === null || v === undefined) {
        started = false;
        continue;
      }
      const px = Math.max(pad.l, x(p.t));
      if (started) ctx.lineTo(px, y(v));
      else ctx.moveTo(px, y(v));
      started = true;
    }
    ctx.stroke();
    ctx.lineWidth = 1;
  };
  line(COLORS.actual, (p) => p.actualPerSec, yR);
  line(COLORS.would, (p) => p.ratio, yL);

  if (points.length === 0) {
    ctx.fillStyle = COLORS.text;
    ctx.textAlign = 'center';
    ctx.fillText('waiting for evidence…', pad.l + w / 2, pad.t + h / 2);
    ctx.textAlign = 'left';
  }
}
