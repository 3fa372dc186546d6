// See timeouts-unit.js: the runtime project's default timeout (a file may raise it with jest.setTimeout).
jest.setTimeout(600_000);
