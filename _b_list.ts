import "./src/cli/list.ts";
