// The REST API's bodies, as docs/api.md and /api/openapi.json describe them.

export type JobStatus = "pending" | "running" | "paused" | "completed" | "partial" | "failed" | "cancelled";
export type ItemStatus = "pending" | "running" | "done" | "failed" | "skipped" | "cancelled";

export const JOB_STATUSES: JobStatus[] = ["pending", "running", "paused", "completed", "partial", "failed", "cancelled"];
export const ITEM_STATUSES: ItemStatus[] = ["pending", "running", "done", "failed", "skipped", "cancelled"];
export const FINISHED: JobStatus[] = ["completed", "partial", "failed", "cancelled"];

export interface Progress {
  job_id: string;
  status: string;
  total: number;
  done: number;
  failed: number;
  skipped: number;
  cancelled: number;
  rows_read: number;
  rows_written: number;
  elapsed_s: number;
  items_per_s: number;
  rows_per_s: number;
  eta_s: number | null;
  current: string[];
  retrying: number;
  weight_total: number;
  weight_done: number;
  parts: { name: string; done: number; total: number; percent: number; rows_per_s?: number; eta_s?: number | null }[];
  percent: number;
  recorded_at: string | null;
}

export interface Job {
  id: string;
  kind: string;
  env: string;
  status: JobStatus;
  name: string;
  project: string;
  params: Record<string, unknown>;
  options: Record<string, unknown>;
  total: number;
  done: number;
  failed: number;
  skipped: number;
  cancelled: number;
  rows_read: number;
  rows_written: number;
  percent: number;
  duration_s: number | null;
  created_at: string | null;
  started_at: string | null;
  finished_at: string | null;
  updated_at: string | null;
  error: string | null;
  retry_of: string | null;
  parent_id: string | null;
  tags: string[];
  metadata: Record<string, unknown>;
  progress: Partial<Progress>;
  runner: string | null;
  heartbeat_at: string | null;
  /** Sent by /api/events: the job's live progress. */
  live?: Progress;
}

export interface JobPage {
  jobs: Job[];
  total: number;
  limit: number;
  offset: number;
}

export interface Item {
  job_id: string;
  key: string;
  position: number;
  status: ItemStatus;
  value: unknown;
  attempts: number;
  error: string | null;
  traceback: string | null;
  result: unknown;
  cursor: unknown;
  started_at: string | null;
  finished_at: string | null;
  duration_s: number | null;
  rows_read: number;
  rows_written: number;
  weight: number;
  worker: string | null;
}

export interface ItemPage {
  items: Item[];
  total: number;
  limit: number;
  offset: number;
}

export interface LogEvent {
  id: number;
  job_id: string;
  ts: string;
  level: string;
  item_key: string | null;
  message: string;
}

export interface JsonSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  format?: string;
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  anyOf?: JsonSchema[];
  minimum?: number;
  maximum?: number;
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
  additionalProperties?: boolean | JsonSchema;
}

export interface Kind {
  name: string;
  description: string;
  builtin: boolean;
  params: JsonSchema;
  retries: number | null;
  workers: number | null;
  timeout: number | null;
}

export interface Pipeline {
  name: string;
  path: string;
  kind: string;
  description: string;
  env: string | null;
  workers: number | null;
  params: Record<string, unknown>;
  tags: string[];
  schedule: string | null;
}

export interface Statistics {
  total: number;
  by_status: Record<string, number>;
  by_kind: Record<string, number>;
  by_env: Record<string, number>;
  success_rate: number | null;
  duration_p50_s: number | null;
  duration_p95_s: number | null;
  throughput: { window_s: number; jobs_finished: number; jobs_per_hour: number; items_done: number; items_per_s: number };
  by_kind_env: {
    kind: string;
    env: string;
    jobs: number;
    completed: number;
    partial: number;
    failed: number;
    success_rate: number | null;
    duration_p50_s: number | null;
    duration_p95_s: number | null;
    items_done: number;
    rows_written: number;
  }[];
}

export interface TimelinePoint {
  start: string;
  kind: string;
  env: string;
  jobs: number;
  completed: number;
  partial: number;
  failed: number;
  success_rate: number | null;
  duration_p50_s: number | null;
  duration_p95_s: number | null;
  items_done: number;
  rows_written: number;
  items_per_s: number | null;
}

export interface Timeline {
  since: string;
  bucket_s: number;
  points: TimelinePoint[];
}

export interface RuleResult {
  name: string;
  rule: string;
  severity: string;
  status: "pass" | "warn" | "fail" | "error";
  failing: number;
  checked: number;
  column: string | null;
  threshold: number | string;
  samples: Record<string, unknown>[];
  fix: string | null;
  message: string | null;
  percent: number;
}

export interface Report {
  suite: string;
  target: string;
  job: string | null;
  created_at: string;
  score: number;
  rows: number;
  counts: Record<string, number>;
  tables: { table: string; rows: number; score: number; counts: Record<string, number>; seconds: number; rules: RuleResult[] }[];
  trend: { job: string; at: string | null; score: number; delta: number } | null;
  errors: { table: string; error: string }[];
  status: string;
  result: { passed: boolean; fail_on: string; failed: number; failing: string[] } | null;
  history: { job: string; at: string | null; score: number; rows: number }[];
}

export interface Health {
  status: string;
  version: string;
  store: string;
  jobs_running: number;
  jobs_queued: number;
}

// Monitors, alerts and schedules (the "Quality" pages).

export type ObservationStatus = "ok" | "warn" | "fail" | "error";

export interface Observation {
  monitor: string;
  metric: string;
  labels: Record<string, string>;
  value: number | null;
  observed_at: string;
  status: ObservationStatus;
  anomaly: boolean;
  expected: number | null;
  score: number | null;
  message: string | null;
}

export interface Threshold {
  level: "warn" | "fail";
  above: number | null;
  below: number | null;
  outside: [number, number] | null;
  text: string;
}

export interface Series extends Observation {
  thresholds: Threshold[];
}

export interface Monitor {
  name: string;
  description: string;
  schedule: string | null;
  path: string | null;
  metrics: Record<string, unknown>[];
  latest: Series[];
  status: ObservationStatus | null;
}

export interface MetricsPage {
  window: string;
  count: number;
  observations: Observation[];
}

export type AlertStatus = "open" | "acknowledged" | "resolved";
export type Severity = "info" | "low" | "medium" | "high" | "critical";
export const SEVERITIES: Severity[] = ["critical", "high", "medium", "low", "info"];

export interface Alert {
  id: number;
  fingerprint: string;
  title: string;
  monitor: string;
  metric: string;
  labels: Record<string, string>;
  status: AlertStatus;
  severity: Severity;
  cause: string;
  message: string;
  value: number | null;
  channels: string[];
  opened_at: string;
  last_seen_at: string;
  failures: number;
  passes: number;
  notified_at: string | null;
  reminders: number;
  acknowledged_at: string | null;
  acknowledged_by: string | null;
  note: string | null;
  silenced_until: string | null;
  resolved_at: string | null;
  resolved_by: string | null;
}

export interface Notice {
  id: number;
  alert_id: number;
  event: string;
  channel: string;
  status: string;
  created_at: string;
  attempts: number;
  last_error: string | null;
  sent_at: string | null;
}

export interface Delivery {
  id: number;
  alert_id: number;
  notice_id: number;
  channel: string;
  event: string;
  attempt: number;
  status: string;
  error: string | null;
  at: string;
  elapsed_s: number | null;
}

export interface AlertDetail extends Alert {
  notices: Notice[];
  deliveries: Delivery[];
}

export interface AlertPage {
  alerts: Alert[];
  total: number;
  limit: number;
  offset: number;
}

export interface ScheduleRun {
  schedule_id: string;
  scheduled_at: string;
  job_id: string;
  status: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  detail: string | null;
}

export interface Schedule {
  id: string;
  target: { pipeline?: string; kind?: string; params?: Record<string, unknown>; env?: string };
  cron: string;
  timezone: string;
  missed: string;
  source: string;
  paused: boolean;
  last_run: ScheduleRun | null;
  next_at: string[];
}
