// The child process behind `evaluateProgram` under jest: evaluates programs on request, one at a time.
import { EvaluateOptions, evaluateInProcess } from "./mockRuntime";

let queue = Promise.resolve();
process.on("message", (request: { id: number; options: EvaluateOptions }) => {
  queue = queue.then(async () => {
    try {
      const evaluation = await evaluateInProcess(request.options);
      process.send?.({ id: request.id, evaluation });
    } catch (error) {
      const e = error as Error & { registeredResources?: number };
      process.send?.({
        id: request.id,
        error: { message: e.message, registeredResources: e.registeredResources },
      });
    }
  });
});
// Exit with the test file that started it.
process.on("disconnect", () => process.exit(0));
