import assert from "node:assert/strict";
import { have, requireThat } from "../../tests/require.ts";
import { assemble } from "../../tools/wasm.ts";
import { PATTERN_WASM_BASE64 } from "./pattern_wasm.ts";

requireThat(
  have("wat2wasm")
    ? undefined
    : "no wat2wasm (Debian's wabt; tools/setup.sh --vm installs it)",
  "pattern_wasm.ts holds what wat2wasm makes of pattern.wat (deno task wasm)",
  () => {
    const committed = Uint8Array.from(
      atob(PATTERN_WASM_BASE64),
      (c) => c.charCodeAt(0),
    );
    assert.deepEqual(committed, assemble());
  },
);
