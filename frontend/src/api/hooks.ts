// The API's reads as TanStack queries, its actions as mutations that refresh what they change.

import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, download, query } from "./client";
import type { Health, ItemPage, Job, JobPage, Kind, LogEvent, Pipeline, Report, Statistics, Timeline } from "./types";

export interface JobQuery {
  status?: string[];
  kind?: string;
  env?: string;
  project?: string;
  tag?: string;
  q?: string;
  created_after?: string;
  created_before?: string;
  sort?: string;
  order?: "asc" | "desc";
  limit?: number;
  offset?: number;
}

export function useJobs(filters: JobQuery) {
  return useQuery({
    queryKey: ["jobs", filters],
    queryFn: ({ signal }) => api<JobPage>(`/api/jobs${query({ ...filters })}`, { signal }),
    placeholderData: keepPreviousData,
  });
}

export function useJob(id: string | undefined) {
  return useQuery({
    queryKey: ["job", id],
    queryFn: ({ signal }) => api<Job>(`/api/jobs/${encodeURIComponent(id ?? "")}`, { signal }),
    enabled: !!id,
  });
}

export function useItems(id: string, status: string[], page: number, pageSize: number) {
  return useQuery({
    queryKey: ["items", id, status, page, pageSize],
    queryFn: ({ signal }) =>
      api<ItemPage>(
        `/api/jobs/${encodeURIComponent(id)}/items${query({ status, limit: pageSize, offset: page * pageSize })}`,
        { signal },
      ),
    placeholderData: keepPreviousData,
  });
}

export function useLog(id: string) {
  return useQuery({
    queryKey: ["log", id],
    queryFn: ({ signal }) =>
      api<{ events: LogEvent[]; next_after: number }>(`/api/jobs/${encodeURIComponent(id)}/log?limit=1000`, { signal }),
  });
}

export function useReport(id: string, enabled: boolean) {
  return useQuery({
    queryKey: ["report", id],
    queryFn: ({ signal }) => api<Report>(`/api/jobs/${encodeURIComponent(id)}/report`, { signal }),
    enabled,
  });
}

export function useKinds() {
  return useQuery({ queryKey: ["kinds"], queryFn: ({ signal }) => api<Kind[]>("/api/kinds", { signal }), staleTime: 60_000 });
}

export function usePipelines() {
  return useQuery({
    queryKey: ["pipelines"],
    queryFn: ({ signal }) => api<Pipeline[]>("/api/pipelines", { signal }),
    staleTime: 60_000,
  });
}

export function useStatistics(filters: JobQuery, windowH: number) {
  return useQuery({
    queryKey: ["statistics", filters, windowH],
    queryFn: ({ signal }) => api<Statistics>(`/api/statistics${query({ ...filters, window_h: windowH })}`, { signal }),
  });
}

export function useTimeline(filters: JobQuery, windowH: number, buckets: number) {
  return useQuery({
    queryKey: ["timeline", filters, windowH, buckets],
    queryFn: ({ signal }) =>
      api<Timeline>(`/api/statistics/timeline${query({ ...filters, window_h: windowH, buckets })}`, { signal }),
  });
}

export function useHealth() {
  return useQuery({
    queryKey: ["health"],
    queryFn: ({ signal }) => api<Health>("/api/health", { signal }),
    refetchInterval: 30_000,
    retry: false,
  });
}

/** Paths the API has (from its OpenAPI document): pages for APIs still to come appear with them. */
export function useApiPaths() {
  return useQuery({
    queryKey: ["openapi"],
    queryFn: async ({ signal }) => {
      const doc = await api<{ paths: Record<string, unknown> }>("/api/openapi.json", { signal });
      return new Set(Object.keys(doc.paths));
    },
    staleTime: Infinity,
  });
}

export type Action = "pause" | "resume" | "cancel" | "retry" | "delete";

export function useJobAction() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async ({ id, action }: { id: string; action: Action }): Promise<Job | undefined> => {
      const path = `/api/jobs/${encodeURIComponent(id)}`;
      if (action === "delete") return api<undefined>(path, { method: "DELETE" });
      if (action === "retry") return api<Job>(`${path}/retry`, { method: "POST", json: { failed_only: true } });
      return api<Job>(`${path}/${action}`, { method: "POST" });
    },
    onSettled: (_data, _error, { id }) => {
      void client.invalidateQueries({ queryKey: ["jobs"] });
      void client.invalidateQueries({ queryKey: ["job", id] });
      void client.invalidateQueries({ queryKey: ["statistics"] });
    },
  });
}

export function exportJob(id: string, format: "json" | "csv") {
  return download(`/api/jobs/${encodeURIComponent(id)}/export?format=${format}`, `${id}.${format}`);
}

export function exportJobs(filters: JobQuery, format: "json" | "csv") {
  const { sort: _s, order: _o, limit: _l, offset: _off, ...rest } = filters;
  return download(`/api/jobs/export${query({ ...rest, format })}`, `jobs.${format}`);
}
