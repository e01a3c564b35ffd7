/**
 * pmemctl's one version number, from deno.json: `--version`, the exports,
 * the packages and the kernel module's MODULE_VERSION all read it here.
 *
 * @module
 */

import denoJson from "../deno.json" with { type: "json" };

/** pmemctl's version, from deno.json. */
export const VERSION: string = denoJson.version;
