// The baseline of the process benchmarks: Deno starting and doing nothing.
