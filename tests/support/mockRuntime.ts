// The offline runtime and stack-file readers live in scripts/offline/ (the scripts use them, and scripts never
// import tests/); re-exported here so tests keep one import.
export * from "../../scripts/offline/evaluate";
export * from "../../scripts/offline/stackFiles";
