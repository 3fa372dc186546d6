// jest reads `testTimeout` only from the global config, never from a project's (a project's was silently
// ignored: 5 s applied), so each project sets its timeout in a setup file. Generous on purpose: a mock
// evaluation takes ~1 s on an idle machine and many times that on a loaded one; speed belongs to the
// benchmarks, not to test timeouts.
jest.setTimeout(60_000);
