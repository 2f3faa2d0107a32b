/** core/authoring: suggest policies from traffic and manifests, audit existing ones, fix a blocked contract. */
export * from './engine.js';
export * from './labels.js';
export * from './observe.js';
export * from './manifests.js';
export * from './rule-usage.js';
export * from './contract-doc.js';
export * from './suggest.js';
export * from './cluster.js';
export * from './synthetic-flow.js';
export * from './from-manifests.js';
export * from './from-map.js';
export * from './fix.js';
export * from './audit.js';
export * from './cilium-format.js';
export * from './narrowing-contract.js';
export * from './cilium-audit.js';
