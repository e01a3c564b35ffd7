import assert from "node:assert/strict";
import { ExitCode } from "./errors.ts";
import {
  blkGetSize64,
  constants as C,
  FileHandle,
  fsGetXattr,
  fstatx,
  klogReadAll,
  kmsgReadAll,
  Mapping,
  OsError,
  pread,
  preadFull,
  pwrite,
  pwriteFull,
  statx,
} from "./mod.ts";

const SIZE = 1 << 20;

function shmFile(size = SIZE): string {
  const path = Deno.makeTempFileSync({
    dir: "/dev/shm",
    prefix: "pmemctl-ffi-",
  });
  Deno.truncateSync(path, size);
  return path;
}

function assertOsError(fn: () => unknown, call: string, code: string): OsError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof OsError, `expected OsError, got ${caught}`);
  assert.equal(caught.call, call);
  assert.equal(caught.code, code);
  assert.equal(caught.exitCode, ExitCode.system);
  return caught;
}

Deno.test("map, write, msync, read back through pread and a second mapping", () => {
  const path = shmFile();
  try {
    const pattern = new Uint8Array(SIZE);
    for (let i = 0; i < SIZE; i++) pattern[i] = (i * 31 + 7) & 0xff;
    {
      using file = new FileHandle(path, C.O_RDWR);
      using map = Mapping.map(file.fd, path, { length: SIZE, writable: true });
      assert.equal(map.mapSync, false);
      map.bytes().set(pattern);
      map.sync();
      map.sync(4097, 10); // unaligned ranges are widened to the page
    }
    // Read with pread: what the mapping wrote is in the file.
    using file = new FileHandle(path, C.O_RDONLY);
    const back = new Uint8Array(SIZE);
    assert.equal(pread(file.fd, back, 0, path), SIZE);
    assert.deepEqual(back, pattern);
    // And a read-only mapping of a window at a page offset sees the same.
    using ro = Mapping.map(file.fd, path, { offset: 8192, length: 4096 });
    assert.deepEqual(ro.bytes(), pattern.subarray(8192, 12288));
    assert.deepEqual(ro.bytes(100, 3), pattern.subarray(8292, 8295));
  } finally {
    Deno.removeSync(path);
  }
});

Deno.test("pwrite lands where a mapping reads", () => {
  const path = shmFile();
  try {
    using file = new FileHandle(path, C.O_RDWR);
    using map = Mapping.map(file.fd, path, { length: SIZE });
    assert.equal(pwrite(file.fd, new Uint8Array([1, 2, 3]), 5000, path), 3);
    assert.deepEqual([...map.bytes(4999, 5)], [0, 1, 2, 3, 0]);
  } finally {
    Deno.removeSync(path);
  }
});

Deno.test("preadFull and pwriteFull move whole buffers, and say where a file ends", () => {
  const path = shmFile(10);
  try {
    using file = new FileHandle(path, C.O_RDWR);
    const data = new Uint8Array(3 * SIZE).map((_, i) => i % 251);
    assert.equal(pwriteFull(file.fd, data, 7, path), data.length);
    const back = new Uint8Array(data.length);
    assert.equal(preadFull(file.fd, back, 7, path), data.length);
    assert.deepEqual(back, data);
    // Past the end: a short count, not an error and not a loop.
    const tail = new Uint8Array(16);
    assert.equal(preadFull(file.fd, tail, 7 + data.length - 5, path), 5);
    assert.equal(preadFull(file.fd, tail, 7 + data.length + 1, path), 0);
  } finally {
    Deno.removeSync(path);
  }
});

Deno.test("views are detached when the mapping closes", () => {
  const path = shmFile();
  try {
    using file = new FileHandle(path, C.O_RDWR);
    const map = Mapping.map(file.fd, path, { length: SIZE, writable: true });
    const view = map.bytes(0, 16);
    view[0] = 1;
    map.close();
    assert.equal(map.mapped, false);
    assert.equal(view.length, 0); // reads as empty instead of faulting
    assert.equal(view[0], undefined);
    map.close(); // twice is harmless
    assert.throws(() => map.bytes(), /mapping is closed/);
  } finally {
    Deno.removeSync(path);
  }
});

Deno.test("view ranges are checked before a view is made", () => {
  const path = shmFile();
  try {
    using file = new FileHandle(path, C.O_RDWR);
    using map = Mapping.map(file.fd, path, { length: SIZE });
    assert.throws(() => map.bytes(SIZE - 1, 2), /past the mapping/);
    assert.throws(() => map.bytes(-1, 1), /non-negative integer/);
    assert.throws(() => map.bytes(0, 2 ** 53), /at most 2\^53-1/);
    assert.throws(() => map.bytes(0.5, 1), /integer/);
    assert.equal(map.bytes(SIZE, 0).length, 0);
  } finally {
    Deno.removeSync(path);
  }
});

Deno.test("MAP_SYNC on tmpfs: 'try' falls back, 'require' fails with EOPNOTSUPP", () => {
  const path = shmFile();
  try {
    using file = new FileHandle(path, C.O_RDWR);
    using map = Mapping.map(file.fd, path, {
      length: SIZE,
      writable: true,
      sync: "try",
    });
    assert.equal(map.mapSync, false);
    assertOsError(
      () =>
        Mapping.map(file.fd, path, {
          length: SIZE,
          writable: true,
          sync: "require",
        }),
      "mmap(MAP_SYNC)",
      "EOPNOTSUPP",
    );
  } finally {
    Deno.removeSync(path);
  }
});

Deno.test("error paths name the call, the path and errno", () => {
  const path = shmFile();
  try {
    const missing = assertOsError(
      () => new FileHandle("/dev/shm/pmemctl-no-such-file", C.O_RDONLY),
      "open",
      "ENOENT",
    );
    assert.equal(
      missing.message,
      "open /dev/shm/pmemctl-no-such-file: ENOENT (No such file or directory)",
    );
    assertOsError(() => new FileHandle("/dev/shm", C.O_RDWR), "open", "EISDIR");
    using file = new FileHandle(path, C.O_RDWR);
    const notty = assertOsError(
      () => blkGetSize64(file.fd, path),
      "ioctl BLKGETSIZE64",
      "ENOTTY",
    );
    assert.match(
      notty.message,
      /^ioctl BLKGETSIZE64 \/dev\/shm\/pmemctl-ffi-\S+: ENOTTY/,
    );
    const zero = assertOsError(
      () => Mapping.map(file.fd, path, { length: 0 }),
      "mmap",
      "EINVAL",
    );
    assert.equal(zero.message, `mmap ${path}: EINVAL (Invalid argument)`);
    // A closed descriptor is EBADF, not a crash.
    const fd = file.fd;
    file.close();
    assertOsError(
      () => Mapping.map(fd, path, { length: 4096 }),
      "mmap",
      "EBADF",
    );
    assert.throws(() => file.fd, /file is closed/);
  } finally {
    Deno.removeSync(path);
  }
});

Deno.test("statx reports type, size and no DAX on tmpfs", () => {
  const path = shmFile(12345);
  try {
    const st = statx(path);
    assert.equal(st.isFile, true);
    assert.equal(st.size, 12345);
    assert.equal(st.dax, false);
    assert.equal(statx("/dev/shm").isDirectory, true);
    assert.equal(statx("/dev/null").isCharDevice, true);
    assert.deepEqual([
      statx("/dev/null").rdevMajor,
      statx("/dev/null").rdevMinor,
    ], [1, 3]);
    using file = new FileHandle(path, C.O_RDONLY);
    assert.equal(fstatx(file.fd, path).size, 12345);
    assertOsError(
      () => statx("/dev/shm/pmemctl-no-such-file"),
      "statx",
      "ENOENT",
    );
  } finally {
    Deno.removeSync(path);
  }
});

Deno.test("FS_IOC_FSGETXATTR: no DAX flag on tmpfs, ENOTTY on a char device", () => {
  const path = shmFile();
  try {
    using file = new FileHandle(path, C.O_RDONLY);
    // tmpfs answers since Linux 6.0-ish; older kernels say ENOTTY. Either way no DAX hint.
    try {
      assert.equal(fsGetXattr(file.fd, path).daxFlag, false);
    } catch (e) {
      assert.ok(e instanceof OsError && e.code === "ENOTTY", String(e));
    }
    using devnull = new FileHandle("/dev/null", C.O_RDONLY);
    assertOsError(
      () => fsGetXattr(devnull.fd, "/dev/null"),
      "ioctl FS_IOC_FSGETXATTR",
      "ENOTTY",
    );
  } finally {
    Deno.removeSync(path);
  }
});

Deno.test("klogctl reads the kernel ring buffer, or says EPERM without the right", () => {
  try {
    const text = klogReadAll();
    assert.ok(text.length > 0);
    assert.match(text, /^<\d+>/); // each record keeps its syslog level
  } catch (e) {
    // dmesg_restrict=1 without CAP_SYSLOG
    assert.ok(e instanceof OsError && e.code === "EPERM", String(e));
    assert.equal(e.call, "klogctl");
  }
});

Deno.test("/dev/kmsg records are read without blocking, or EPERM/EACCES without the right", () => {
  try {
    const text = kmsgReadAll();
    assert.match(text, /^\d+,\d+,\d+,[^;]*;/m);
  } catch (e) {
    assert.ok(
      e instanceof OsError && (e.code === "EPERM" || e.code === "EACCES"),
      String(e),
    );
  }
});

Deno.test("PMEMCTL_LIBPMEM names the libpmem to load; a wrong one means no cache flush, not a crash", async () => {
  const probe = `import { libpmem, pageSize } from "${
    new URL("./mod.ts", import.meta.url).href
  }"; console.log(JSON.stringify({ loaded: libpmem() !== null, page: pageSize() }));`;
  const run = async (env: Record<string, string>) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", probe],
      env,
      stdout: "piped",
    }).output();
    return JSON.parse(new TextDecoder().decode(out.stdout));
  };
  assert.deepEqual(await run({ PMEMCTL_LIBPMEM: "/nonexistent/libpmem.so" }), {
    loaded: false,
    page: 4096,
  });
  const system = "/usr/lib/x86_64-linux-gnu/libpmem.so.1";
  let have = false;
  try {
    have = Deno.statSync(system).isFile;
  } catch { /* not installed */ }
  // setup.sh installs libpmem1: in CI it must be there.
  assert.ok(have || Deno.env.get("CI") !== "true", `no ${system} in CI`);
  if (have) {
    assert.equal((await run({ PMEMCTL_LIBPMEM: system })).loaded, true);
  }
});
