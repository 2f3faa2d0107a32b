/**
 * Exactly-once ingest over an at-least-once agent outbox: a report's identity is
 * (node, boot_id, seq). Per (node, boot) we keep the seqs seen above a low watermark;
 * seqs far below the highest one are treated as seen (the agent never resends that far back).
 */

/** How many seqs below the highest seen are still tracked individually. */
export const DEDUP_WINDOW = 4096;
/** Boots remembered per node (a restarting agent gets a new boot id each time). */
const MAX_BOOTS_PER_NODE = 8;

const WORD_BITS = 32;

/**
 * The seqs of one boot seen in (highest - DEDUP_WINDOW, highest]. An agent sends its seqs in
 * order, so while every seq from the first seen up to the highest has arrived the record is
 * just that run [low, highest]; at the first gap or out-of-order seq it becomes one bit per
 * seq in a ring indexed by seq mod DEDUP_WINDOW: 512 bytes however long the agent runs. (A
 * Set of seqs held up to 8,192 numbers per boot once an agent had sent that many reports,
 * about 11 hours at 10 s windows: over a gigabyte at 10,000 nodes; the ring for every boot
 * was about 0.9 KiB per node, 9 MiB at 10,000 nodes, for a gap that seldom comes.)
 */
class BootSeqs {
  highest: number;
  /** While `bits` is null: every seq in [low, highest] was seen, and none above or below it in the window. */
  private low: number;
  private bits: Uint32Array | null = null;

  /** A boot whose first seen seq is `first`. */
  constructor(first: number) {
    this.highest = first;
    this.low = first;
  }

  has(seq: number): boolean {
    if (seq <= this.highest - DEDUP_WINDOW) return true;
    if (seq > this.highest) return false;
    if (this.bits === null) return seq >= this.low;
    const i = slot(seq);
    return (this.bits[i >>> 5]! & (1 << (i & 31))) !== 0;
  }

  add(seq: number): void {
    if (this.bits === null) {
      if (seq === this.highest + 1) {
        this.highest = seq;
        return;
      }
      if (this.has(seq)) return;
      this.bits = this.ringOfRun();
    }
    if (seq > this.highest) {
      // The slots of the seqs now above the old highest held seqs that fall below the window
      // (treated as seen by the rule above): clear them for their new seqs.
      const gap = seq - this.highest;
      if (gap >= DEDUP_WINDOW) this.bits.fill(0);
      else for (let s = this.highest + 1; s <= seq; s++) this.clear(slot(s));
      this.highest = seq;
    } else if (seq <= this.highest - DEDUP_WINDOW) {
      return;
    }
    const i = slot(seq);
    this.bits[i >>> 5]! |= 1 << (i & 31);
  }

  /** The run [low, highest] as ring bits (its part inside the window). */
  private ringOfRun(): Uint32Array {
    const bits = new Uint32Array(DEDUP_WINDOW / WORD_BITS);
    for (let s = Math.max(this.low, this.highest - DEDUP_WINDOW + 1); s <= this.highest; s++) {
      const i = slot(s);
      bits[i >>> 5]! |= 1 << (i & 31);
    }
    return bits;
  }

  private clear(i: number): void {
    this.bits![i >>> 5]! &= ~(1 << (i & 31));
  }
}

/** A seq's place in the ring (seqs are integers; the modulo is kept non-negative). */
function slot(seq: number): number {
  return ((seq % DEDUP_WINDOW) + DEDUP_WINDOW) % DEDUP_WINDOW;
}

export class ReportDedup {
  private readonly nodes = new Map<string, Map<string, BootSeqs>>();

  /** True if this report identity was already accepted. */
  has(node: string, bootId: string, seq: number): boolean {
    const boot = this.nodes.get(node)?.get(bootId);
    if (!boot) return false;
    return boot.has(seq);
  }

  /** Records an accepted report identity. */
  add(node: string, bootId: string, seq: number): void {
    let boots = this.nodes.get(node);
    if (!boots) {
      boots = new Map();
      this.nodes.set(node, boots);
    }
    let boot = boots.get(bootId);
    if (!boot) {
      if (boots.size >= MAX_BOOTS_PER_NODE) {
        const oldest = boots.keys().next().value;
        if (oldest !== undefined) boots.delete(oldest);
      }
      boot = new BootSeqs(seq);
      boots.set(bootId, boot);
    }
    boot.add(seq);
  }
}
