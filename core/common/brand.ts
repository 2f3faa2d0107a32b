declare const brand: unique symbol;
/** Nominal typing for identifiers that are easy to mix up across a boundary. */
export type Brand<T, B extends string> = T & { readonly [brand]: B };
