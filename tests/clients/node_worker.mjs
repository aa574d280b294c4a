// An external-task worker written with Camunda's own Node client (camunda-external-task-client-js),
// run by tests/camunda_rest against a live server:
//   node node_worker.mjs <engine-rest URL> <user> <password>
// amount 1: complete with charged=true; amount 2: fail (one retry, then none: an incident);
// amount 3: throw the BPMN error "card-declined". Each action is printed as a JSON line.
import { BasicAuthInterceptor, Client, Variables } from "camunda-external-task-client-js";

const [baseUrl, username, password] = process.argv.slice(2);
const client = new Client({
  baseUrl,
  workerId: "node-worker",
  asyncResponseTimeout: 2000,
  lockDuration: 20000,
  maxTasks: 5,
  interceptors: new BasicAuthInterceptor({ username, password }),
  use: () => {},
});

const report = (action, task, extra = {}) =>
  console.log(JSON.stringify({ action, id: task.id, instance: task.processInstanceId, ...extra }));

client.subscribe("charge-card", async ({ task, taskService }) => {
  const amount = task.variables.get("amount");
  try {
    if (amount === 1) {
      const variables = new Variables().set("charged", true).set("receipt", { number: "R-1", lines: 2 });
      await taskService.complete(task, variables);
      report("complete", task);
    } else if (amount === 2) {
      const retries = task.retries === null || task.retries === undefined ? 1 : task.retries - 1;
      await taskService.handleFailure(task, {
        errorMessage: "card service down",
        errorDetails: "timeout after 3 s",
        retries,
        retryTimeout: 0,
      });
      report("failure", task, { retries });
    } else if (amount === 3) {
      await taskService.handleBpmnError(task, "card-declined", "declined by bank", new Variables().set("reason", "stolen"));
      report("bpmnError", task);
    }
  } catch (error) {
    report("error", task, { message: String(error) });
  }
});
