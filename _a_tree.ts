import "./src/cli/tree.ts";
