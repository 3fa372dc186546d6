// The container mode's fixed numbers and names (components/compute/container.ts re-exports them).

/** MLflow listens here in the task; only the load balancer reaches it. */
export const CONTAINER_PORT = 5000;
export const CONTAINER_NAME = "mlflow";
export const HEALTH_CHECK_PATH = "/health";
/** TLS 1.3 and 1.2 only, forward-secret ciphers (AWS's recommended ALB policy). */
export const TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06";
/** Seconds a connection may sit idle: MLflow answers a large proxied upload only after storing it. */
export const IDLE_TIMEOUT_SECONDS = 900;
/** Seconds a stopping task keeps finishing in-flight requests (large artifact uploads and downloads). */
export const DEREGISTRATION_DELAY_SECONDS = 600;
/** Fargate's maximum: uvicorn finishes in-flight requests after the load balancer has drained. */
export const STOP_TIMEOUT_SECONDS = 120;
/** A new task serves after this many consecutive passing checks, this many seconds apart. */
export const HEALTH_CHECK_INTERVAL_SECONDS = 15;
export const HEALTHY_THRESHOLD = 2;
/**
 * Within one MLflow version the schema never changes: deploys roll (new tasks start and get healthy before the
 * old ones stop; no downtime). Across versions see `serviceName`.
 */
export const DEPLOYMENT_MINIMUM_HEALTHY_PERCENT = 100;
export const DEPLOYMENT_MAXIMUM_PERCENT = 200;

/**
 * The ECS service's name carries the MLflow version, and the service is replaced delete-before-create. So a
 * version change (the only thing that changes the database schema) stops every old task before a new one
 * migrates (under start.sh's advisory lock) and serves: old and new code never share a schema. MLflow refuses
 * to start on a schema other than its own, and most of its migrations alter or drop columns.
 */
export function serviceName(name: string, mlflowVersion: string): string {
  return `${name}-mlflow-${mlflowVersion.replace(/[^0-9A-Za-z]+/g, "-")}`;
}
/** Seconds ECS ignores failing load balancer health checks of a new task: waiting for the lock and migrating. */
export const HEALTH_CHECK_GRACE_SECONDS = 600;
/** Task scratch space: MLflow spools proxied uploads to /tmp before writing them to the artifact store. */
export const EPHEMERAL_STORAGE_GIB = 50;
