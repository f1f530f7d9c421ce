// Whether the page's live streams are connected, for the bar at the top to show.

import { createContext, useCallback, useContext, useEffect, useRef, useState, type ReactNode } from "react";
import { stream, type StreamState } from "../api/sse";

const LiveContext = createContext<{ state: StreamState | null; report: (key: string, s: StreamState | null) => void }>({
  state: null,
  report: () => undefined,
});

export function LiveProvider({ children }: { children: ReactNode }) {
  const states = useRef(new Map<string, StreamState>());
  const [state, setState] = useState<StreamState | null>(null);
  const report = useCallback((key: string, s: StreamState | null) => {
    if (s === null || s === "closed") states.current.delete(key);
    else states.current.set(key, s);
    const all = [...states.current.values()];
    setState(all.length === 0 ? null : all.includes("reconnecting") ? "reconnecting" : all.includes("connecting") ? "connecting" : "open");
  }, []);
  return <LiveContext.Provider value={{ state, report }}>{children}</LiveContext.Provider>;
}

export function useLiveState() {
  return useContext(LiveContext).state;
}

let streams = 0;

/** Follow a server-sent events stream while the component is shown (and `path` is set). */
export function useStream(path: string | null, onEvent: (name: string, data: unknown) => void, endOn?: string) {
  const { report } = useContext(LiveContext);
  const handler = useRef(onEvent);
  handler.current = onEvent;
  const [state, setState] = useState<StreamState>("connecting");
  useEffect(() => {
    if (!path) return;
    const key = `stream-${++streams}`;
    const stop = stream(path, {
      onEvent: (name, data) => handler.current(name, data),
      onState: (s) => {
        setState(s);
        report(key, s);
      },
      endOn,
    });
    return () => {
      stop();
      report(key, null);
    };
  }, [path, endOn, report]);
  return state;
}
