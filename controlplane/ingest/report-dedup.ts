/**
 * Exactly-once ingest over an at-least-once agent outbox: a report's identity is
 * (node, boot_id, seq). Per (node, boot) we keep the seqs seen above a low watermark;
 * seqs far below the highest one are treated as seen (the agent never resends that far back).
 */

/** How many seqs below the highest seen are still tracked individually. */
export const DEDUP_WINDOW = 4096;
/** Boots remembered per node (a restarting agent gets a new boot id each time). */
const MAX_BOOTS_PER_NODE = 8;

interface BootSeqs {
  highest: number;
  seen: Set<number>;
}

export class ReportDedup {
  private readonly nodes = new Map<string, Map<string, BootSeqs>>();

  /** True if this report identity was already accepted. */
  has(node: string, bootId: string, seq: number): boolean {
    const boot = this.nodes.get(node)?.get(bootId);
    if (!boot) return false;
    if (seq <= boot.highest - DEDUP_WINDOW) return true;
    return boot.seen.has(seq);
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
      boot = { highest: seq, seen: new Set() };
      boots.set(bootId, boot);
    }
    boot.seen.add(seq);
    if (seq > boot.highest) {
      boot.highest = seq;
      if (boot.seen.size > DEDUP_WINDOW * 2) {
        for (const s of boot.seen) if (s <= boot.highest - DEDUP_WINDOW) boot.seen.delete(s);
      }
    }
  }
}
