/**
 * The FFI layer's cost: reading 1 MiB of a /dev/shm file through FFI pread
 * and through a mapping, against Deno's own file API as the baseline, in
 * the same run. Run with `deno task bench`.
 */
import { constants as C, FileHandle, Mapping, pread } from "../mod.ts";

const SIZE = 1 << 20;
const path = Deno.makeTempFileSync({
  dir: "/dev/shm",
  prefix: "pmemctl-bench-",
});
Deno.writeFileSync(
  path,
  crypto.getRandomValues(new Uint8Array(65536)).slice(0, 65536),
);
Deno.truncateSync(path, SIZE);
const buffer = new Uint8Array(SIZE);
const ffiFile = new FileHandle(path, C.O_RDONLY);
const denoFile = Deno.openSync(path, { read: true });
const mapping = Mapping.map(ffiFile.fd, path, { length: SIZE });
const view = mapping.bytes();

globalThis.addEventListener("unload", () => {
  mapping.close();
  ffiFile.close();
  denoFile.close();
  Deno.removeSync(path);
});

Deno.bench("Deno.FsFile.readSync 1 MiB", {
  group: "read 1 MiB",
  baseline: true,
}, () => {
  denoFile.seekSync(0, Deno.SeekMode.Start);
  for (let done = 0; done < SIZE;) {
    done += denoFile.readSync(buffer.subarray(done)) ?? SIZE;
  }
});

Deno.bench("ffi pread 1 MiB", { group: "read 1 MiB" }, () => {
  pread(ffiFile.fd, buffer, 0, path);
});

Deno.bench("mapping copy 1 MiB", { group: "read 1 MiB" }, () => {
  buffer.set(view);
});

Deno.bench("Mapping.map + view + close (4 KiB)", { group: "map" }, () => {
  using m = Mapping.map(ffiFile.fd, path, { length: 4096 });
  m.bytes();
});
