// The child process behind `evaluateProgram` under jest: evaluates programs on request, one at a time.
import { EvaluateOptions, evaluateInProcess } from "./evaluate";

let queue = Promise.resolve();
// A program that fails inside an `apply` (e.g. no zone offers the instance type) rejects every output that
// depends on it: the first rejection is the answer to the request, the others arrive unhandled. Those, and
// only those, must not kill the worker that serves the next requests.
let failure: string | undefined;
/**
 * Rejections nothing handled while a program ran: a failure inside an `apply` that only resources (not the
 * stack's outputs) depend on. Pulumi fails the program on the first; so does the request.
 */
let unhandled: Error[] | undefined;
/** The program's own message, without the `error serializing property "x": ` prefixes of each consumer. */
const cause = (message: string) => message.replace(/^(error serializing property "[^"]*": )+/, "");
process.on("unhandledRejection", (reason) => {
  if (failure !== undefined && reason instanceof Error && cause(reason.message) === failure) return;
  if (unhandled && reason instanceof Error) return void unhandled.push(reason);
  throw reason;
});
process.on("message", (request: { id: number; options: EvaluateOptions }) => {
  queue = queue.then(async () => {
    unhandled = [];
    try {
      const evaluation = await evaluateInProcess(request.options);
      // Rejections are reported as unhandled after the microtasks that could still handle them.
      await new Promise((resolve) => setImmediate(resolve));
      const [first] = unhandled;
      if (first) throw new Error(cause(first.message));
      process.send?.({ id: request.id, evaluation });
    } catch (error) {
      const e = error as Error & { registeredResources?: number };
      failure = cause(e.message);
      process.send?.({
        id: request.id,
        error: { message: e.message, registeredResources: e.registeredResources },
      });
    } finally {
      unhandled = undefined;
    }
  });
});
// Exit with the test file that started it.
process.on("disconnect", () => process.exit(0));
