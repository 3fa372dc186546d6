// Prints jest's result as the plain closing line CI reads: "<suite>: N passed, N failed".
const [suite, file] = process.argv.slice(2);
const result = require(require("path").resolve(file));
const skipped = result.numPendingTests + result.numTodoTests;
console.log(
  `${suite}: ${result.numPassedTests} passed, ${result.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ""}`,
);
process.exit(result.success && result.numTotalTests > 0 ? 0 : 1);
