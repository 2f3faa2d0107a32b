/**
 * The Kubernetes name grammars NetworkPolicy validation uses (apimachinery validation rules):
 * label keys and values, DNS-1123 subdomains and labels, IANA service names for named ports.
 * Each checker returns null when valid, or a message saying what was expected.
 */

const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const IANA_SVC_NAME_CHARS = /^[-a-z0-9]+$/;
const HAS_LETTER = /[a-z]/;

export function checkDnsSubdomain(text: string): string | null {
  if (text.length === 0) return 'must not be empty';
  if (text.length > 253) return `must be at most 253 characters, got ${text.length}`;
  if (!DNS1123_SUBDOMAIN.test(text)) {
    return `must be a lowercase RFC 1123 subdomain (a-z, 0-9, '-', '.'; starting and ending with a letter or digit), got ${JSON.stringify(text)}`;
  }
  return null;
}

export function checkDnsLabel(text: string): string | null {
  if (text.length === 0) return 'must not be empty';
  if (text.length > 63) return `must be at most 63 characters, got ${text.length}`;
  if (!DNS1123_LABEL.test(text)) {
    return `must be a lowercase RFC 1123 label (a-z, 0-9, '-'; starting and ending with a letter or digit), got ${JSON.stringify(text)}`;
  }
  return null;
}

/** A label key: an optional DNS-subdomain prefix and `/`, then a name of at most 63 characters. */
export function checkLabelKey(key: string): string | null {
  const parts = key.split('/');
  if (parts.length > 2) return `label key must have at most one '/', got ${JSON.stringify(key)}`;
  const name = parts[parts.length - 1]!;
  if (parts.length === 2) {
    const prefix = parts[0]!;
    const bad = checkDnsSubdomain(prefix);
    if (bad !== null) return `label key prefix ${bad}`;
  }
  if (name.length === 0) return `label key name must not be empty, got ${JSON.stringify(key)}`;
  if (name.length > 63) return `label key name must be at most 63 characters, got ${JSON.stringify(key)}`;
  if (!LABEL_NAME.test(name)) {
    return `label key name must consist of letters, digits, '-', '_' or '.', starting and ending with a letter or digit, got ${JSON.stringify(key)}`;
  }
  return null;
}

/** A label value: empty, or at most 63 characters of the label-name alphabet. */
export function checkLabelValue(value: string): string | null {
  if (value.length === 0) return null;
  if (value.length > 63) return `label value must be at most 63 characters, got ${JSON.stringify(value)}`;
  if (!LABEL_NAME.test(value)) {
    return `label value must be empty or consist of letters, digits, '-', '_' or '.', starting and ending with a letter or digit, got ${JSON.stringify(value)}`;
  }
  return null;
}

/** IANA_SVC_NAME (RFC 6335): what a named `port` must be. A numeric string such as "80" is not one. */
export function checkPortName(name: string): string | null {
  const expected = 'must be a port number or an IANA service name (at most 15 lowercase letters, digits and non-adjacent hyphens, with at least one letter)';
  const got = `, got ${JSON.stringify(name)}`;
  if (name.length === 0 || name.length > 15) return expected + got;
  if (!IANA_SVC_NAME_CHARS.test(name)) return expected + got;
  if (!HAS_LETTER.test(name)) return expected + got;
  if (name.startsWith('-') || name.endsWith('-') || name.includes('--')) return expected + got;
  return null;
}
