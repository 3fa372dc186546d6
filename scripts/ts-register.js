// Loads the project's TypeScript files through swc (transpile only; `tsc --noEmit` checks types). Unlike
// tsx, it leaves node_modules' JavaScript alone, which keeps @pulumi/pulumi's ~0.5 s import from doubling.
const fs = require("fs");
const swc = require("@swc/core");

require.extensions[".ts"] = function compileTypeScript(module, filename) {
  const { code } = swc.transformSync(fs.readFileSync(filename, "utf8"), {
    filename,
    sourceMaps: "inline",
    module: { type: "commonjs" },
    jsc: { target: "es2022", parser: { syntax: "typescript" } },
  });
  module._compile(code, filename);
};
