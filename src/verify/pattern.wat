;; Version 2 of the verify pattern (pattern.ts) over whole 64-byte lines, in
;; WebAssembly SIMD: the same words as pattern.ts's loops, 16 bytes a store.
;; Assembled by wat2wasm (wabt) into pattern_wasm.ts (`deno task wasm`);
;; a test checks the bytes there are what wat2wasm makes of this file.
;;
;; Line L (target bytes 64L..64L+63) with seed halves sLo, sHi:
;;   a = fmix(L.lo ^ sLo ^ L.hi·0x27d4eb2f)
;;   b = fmix((L.lo + φ) ^ sHi ^ L.hi ^ a)
;;   word j (j = 0..7, w = 8L + j):  low half a + j·φ,  high half b ^ w
;; each half complemented when `inv` is all ones.
(module
  ;; The thread's I/O buffer: 1 MiB and 8 bytes fit in 17 pages.
  (memory (export "mem") 17)

  ;; murmur3's 32-bit finaliser.
  (func $fmix (param $h i32) (result i32)
    (local.set $h (i32.xor (local.get $h) (i32.shr_u (local.get $h) (i32.const 16))))
    (local.set $h (i32.mul (local.get $h) (i32.const 0x85ebca6b)))
    (local.set $h (i32.xor (local.get $h) (i32.shr_u (local.get $h) (i32.const 13))))
    (local.set $h (i32.mul (local.get $h) (i32.const 0xc2b2ae35)))
    (i32.xor (local.get $h) (i32.shr_u (local.get $h) (i32.const 16))))

  ;; Line L's words as four vectors [lo, hi, lo, hi] start from
  ;; x = [a, 8L, a, 8L] plus a step, and are complemented by m = [inv, b^inv, inv, b^inv].
  (func $x (param $lo i32) (param $hi i32) (param $slo i32) (result v128)
    (i32x4.replace_lane 3
      (i32x4.replace_lane 1
        (i32x4.splat
          (call $fmix
            (i32.xor (i32.xor (local.get $lo) (local.get $slo))
                     (i32.mul (local.get $hi) (i32.const 0x27d4eb2f)))))
        (i32.shl (local.get $lo) (i32.const 3)))
      (i32.shl (local.get $lo) (i32.const 3))))

  (func $m (param $x v128) (param $lo i32) (param $hi i32) (param $shi i32) (param $inv i32)
        (result v128)
    (local $b i32)
    (local.set $b
      (i32.xor
        (call $fmix
          (i32.xor
            (i32.xor
              (i32.xor (i32.add (local.get $lo) (i32.const 0x9e3779b9)) (local.get $shi))
              (local.get $hi))
            (i32x4.extract_lane 0 (local.get $x))))
        (local.get $inv)))
    (i32x4.replace_lane 3
      (i32x4.replace_lane 1 (i32x4.splat (local.get $inv)) (local.get $b))
      (local.get $b)))

  ;; Writes $n lines from line ($lo, $hi) at byte $at of the memory.
  (func (export "fill") (param $at i32) (param $n i32) (param $lo i32) (param $hi i32)
        (param $slo i32) (param $shi i32) (param $inv i32)
    (local $end i32) (local $x v128) (local $m v128)
    (local.set $end (i32.add (local.get $at) (i32.shl (local.get $n) (i32.const 6))))
    (block $done
      (loop $line
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $x (call $x (local.get $lo) (local.get $hi) (local.get $slo)))
        (local.set $m (call $m (local.get $x) (local.get $lo) (local.get $hi)
                               (local.get $shi) (local.get $inv)))
        (v128.store offset=0 align=1 (local.get $at)
          (v128.xor (i32x4.add (local.get $x) (v128.const i32x4 0 0 0x9e3779b9 1))
                    (local.get $m)))
        (v128.store offset=16 align=1 (local.get $at)
          (v128.xor (i32x4.add (local.get $x) (v128.const i32x4 0x3c6ef372 2 0xdaa66d2b 3))
                    (local.get $m)))
        (v128.store offset=32 align=1 (local.get $at)
          (v128.xor (i32x4.add (local.get $x) (v128.const i32x4 0x78dde6e4 4 0x1715609d 5))
                    (local.get $m)))
        (v128.store offset=48 align=1 (local.get $at)
          (v128.xor (i32x4.add (local.get $x) (v128.const i32x4 0xb54cda56 6 0x5384540f 7))
                    (local.get $m)))
        (local.set $at (i32.add (local.get $at) (i32.const 64)))
        (local.set $lo (i32.add (local.get $lo) (i32.const 1)))
        (if (i32.eqz (local.get $lo))
          (then (local.set $hi (i32.add (local.get $hi) (i32.const 1)))))
        (br $line))))

  ;; The index (from 0) of the first of $n lines at byte $at that differs
  ;; from the pattern, or -1.
  (func (export "check") (param $at i32) (param $n i32) (param $lo i32) (param $hi i32)
        (param $slo i32) (param $shi i32) (param $inv i32) (result i32)
    (local $i i32) (local $x v128) (local $m v128) (local $d v128)
    (block $done
      (loop $line
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $x (call $x (local.get $lo) (local.get $hi) (local.get $slo)))
        (local.set $m (call $m (local.get $x) (local.get $lo) (local.get $hi)
                               (local.get $shi) (local.get $inv)))
        (local.set $d
          (v128.or
            (v128.or
              (v128.xor (v128.load offset=0 align=1 (local.get $at))
                (v128.xor (i32x4.add (local.get $x) (v128.const i32x4 0 0 0x9e3779b9 1))
                          (local.get $m)))
              (v128.xor (v128.load offset=16 align=1 (local.get $at))
                (v128.xor (i32x4.add (local.get $x) (v128.const i32x4 0x3c6ef372 2 0xdaa66d2b 3))
                          (local.get $m))))
            (v128.or
              (v128.xor (v128.load offset=32 align=1 (local.get $at))
                (v128.xor (i32x4.add (local.get $x) (v128.const i32x4 0x78dde6e4 4 0x1715609d 5))
                          (local.get $m)))
              (v128.xor (v128.load offset=48 align=1 (local.get $at))
                (v128.xor (i32x4.add (local.get $x) (v128.const i32x4 0xb54cda56 6 0x5384540f 7))
                          (local.get $m))))))
        (if (v128.any_true (local.get $d)) (then (return (local.get $i))))
        (local.set $at (i32.add (local.get $at) (i32.const 64)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (local.set $lo (i32.add (local.get $lo) (i32.const 1)))
        (if (i32.eqz (local.get $lo))
          (then (local.set $hi (i32.add (local.get $hi) (i32.const 1)))))
        (br $line)))
    (i32.const -1)))
