/**
 * Runs inside the test guests: small checks of the FFI layer against real
 * devices, each printing one JSON line for the host to assert on.
 *
 * usage: probe.ts size PATH | dax-roundtrip PATH OFFSET | file PATH | klog
 */
import {
  blkGetSize64,
  constants as C,
  FileHandle,
  fstatx,
  klogReadAll,
  Mapping,
  OsError,
} from "../../mod.ts";

const [what, path, arg] = Deno.args;
const print = (value: unknown) => console.log(JSON.stringify(value));

switch (what) {
  case "size": {
    using f = new FileHandle(path, C.O_RDONLY);
    print({ path, size: blkGetSize64(f.fd, path) });
    break;
  }
  case "dax-roundtrip": {
    // Write a pattern through one 2 MiB-aligned mapping, unmap, read it back
    // through a second mapping, and report both digests.
    const offset = Number(arg);
    const length = 2 << 20;
    const pattern = new Uint8Array(length);
    for (let i = 0; i < length; i += 4) {
      new DataView(pattern.buffer).setUint32(
        i,
        (offset + i) ^ 0x5a5a5a5a,
        true,
      );
    }
    const digest = async (b: Uint8Array<ArrayBuffer>) =>
      [...new Uint8Array(await crypto.subtle.digest("SHA-256", b))].map((x) =>
        x.toString(16).padStart(2, "0")
      ).join("");
    using f = new FileHandle(path, C.O_RDWR);
    let mapSync: boolean;
    let msync = "ok";
    {
      using m = Mapping.map(f.fd, path, {
        offset,
        length,
        writable: true,
        sync: "try",
      });
      mapSync = m.mapSync;
      m.bytes().set(pattern);
      try {
        m.sync();
      } catch (e) {
        if (!(e instanceof OsError)) throw e;
        msync = e.code; // device-DAX has no fsync: msync answers EINVAL
      }
    }
    using again = Mapping.map(f.fd, path, { offset, length });
    const back = again.bytes().slice();
    print({
      path,
      offset,
      length,
      mapSync,
      msync,
      written: await digest(pattern),
      read: await digest(back),
    });
    break;
  }
  case "file": {
    // statx's DAX attribute, and whether MAP_SYNC is granted, for a file.
    using f = new FileHandle(path, C.O_RDWR);
    const st = fstatx(f.fd, path);
    using m = Mapping.map(f.fd, path, {
      length: 4096,
      writable: true,
      sync: "try",
    });
    print({ path, dax: st.dax, mapSync: m.mapSync, size: st.size });
    break;
  }
  case "klog": {
    // The kernel log through klogctl(SYSLOG_ACTION_READ_ALL): its type-12 e820 lines.
    const text = klogReadAll();
    const type12 = text.split("\n").filter((l) =>
      // "persistent (type 12)"; 7.3's wording: "persistent RAM (type 12)".
      /persistent (RAM )?\(type 12\)/.test(l)
    );
    print({
      bytes: text.length,
      type12: type12.map((l) => l.replace(/^<\d+>\[[ \d.]+\] /, "")),
    });
    break;
  }
  default:
    console.error(`probe: unknown check ${what}`);
    Deno.exit(2);
}
