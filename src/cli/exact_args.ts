/**
 * The arguments exactly as the user gave them. Deno hands a script its
 * arguments after removing trailing carriage returns and decoding invalid
 * UTF-8 as U+FFFD, so `map zero $'data\r'` would name `data`, and
 * `$'bad\xff'` a file nobody created. /proc/self/cmdline holds the bytes.
 *
 * @module
 */

import { UsageError } from "../errors.ts";

/** `bytes` with anything that is not printable ASCII as `\xNN`. */
function shown(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) {
    out += b >= 0x20 && b < 0x7f && b !== 0x5c
      ? String.fromCharCode(b)
      : `\\x${b.toString(16).padStart(2, "0")}`;
  }
  return out;
}

/**
 * The last `args.length` arguments of `cmdline` (NUL-terminated, as
 * /proc/self/cmdline), decoded exactly; `args` itself when the two do not
 * line up (not this process's command line). A usage error for an argument
 * that is not UTF-8: no name can be passed on to the system unchanged then.
 */
export function exactArgs(cmdline: Uint8Array, args: string[]): string[] {
  const fields: Uint8Array[] = [];
  let from = 0;
  for (let i = 0; i < cmdline.length; i++) {
    if (cmdline[i] !== 0) continue;
    fields.push(cmdline.subarray(from, i));
    from = i + 1;
  }
  if (from < cmdline.length) fields.push(cmdline.subarray(from));
  if (fields.length < args.length) return args;
  const raw = fields.slice(fields.length - args.length);
  const lossy = new TextDecoder();
  const exact = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  // Each must be what Deno made of it; otherwise this is someone else's line.
  const ok = raw.every((b, i) =>
    lossy.decode(b).replace(/\r+$/, "") === args[i]
  );
  if (!ok) return args;
  return raw.map((b, i) => {
    try {
      return exact.decode(b);
    } catch {
      throw new UsageError(
        `argument ${i + 1} "${shown(b)}"`,
        "not valid UTF-8; pmemctl cannot pass such a name on unchanged",
      );
    }
  });
}

/** {@link exactArgs} of this process, or `args` where /proc is not there. */
export function processArgs(args: string[]): string[] {
  let cmdline: Uint8Array;
  try {
    cmdline = Deno.readFileSync("/proc/self/cmdline");
  } catch {
    return args;
  }
  return exactArgs(cmdline, args);
}
