/**
 * The stable modes of `pmemctl verify` (a module of its own, so the command
 * line can name them without loading the verifier).
 *
 * @module
 */

/** The stable modes. */
export const MODES = ["scan", "rw", "destructive", "stamp", "check"] as const;
export type VerifyMode = typeof MODES[number];
