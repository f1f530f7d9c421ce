// Server-sent events over fetch, so the token travels in a header (EventSource cannot send one).
// Reconnects after a second whenever the stream breaks (a server restart), resuming with
// Last-Event-ID; `onState` says whether the stream is up.

import { authNeeded, headers } from "./client";

export type StreamState = "connecting" | "open" | "reconnecting" | "closed";

export interface StreamHandlers {
  onEvent: (name: string, data: unknown) => void;
  onState?: (state: StreamState) => void;
  /** The stream ended on purpose (event `end`): do not reconnect. */
  endOn?: string;
}

export function stream(path: string, handlers: StreamHandlers): () => void {
  let stopped = false;
  let controller: AbortController | null = null;
  let lastId = "";
  let retryMs = 1000;

  const run = async () => {
    let first = true;
    while (!stopped) {
      handlers.onState?.(first ? "connecting" : "reconnecting");
      first = false;
      controller = new AbortController();
      let ended = false;
      try {
        const response = await fetch(path, {
          headers: headers({ Accept: "text/event-stream", ...(lastId ? { "Last-Event-ID": lastId } : {}) }),
          signal: controller.signal,
          cache: "no-store",
        });
        if (response.status === 401) authNeeded.dispatchEvent(new Event("needed"));
        if (response.status === 404) {
          handlers.onEvent("missing", null);
          handlers.onState?.("closed");
          return;
        }
        if (!response.ok || !response.body) throw new Error(`events: ${response.status}`);
        handlers.onState?.("open");
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let cut: number;
          while ((cut = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            let name = "message";
            const data: string[] = [];
            for (const line of block.split("\n")) {
              if (line.startsWith("event:")) name = line.slice(6).trim();
              else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
              else if (line.startsWith("id:")) lastId = line.slice(3).trim();
              else if (line.startsWith("retry:")) retryMs = Number(line.slice(6)) || retryMs;
            }
            if (!data.length) continue;
            handlers.onEvent(name, JSON.parse(data.join("\n")));
            if (handlers.endOn && name === handlers.endOn) ended = true;
          }
        }
      } catch {
        // the server went away or the stream broke: try again below
      }
      if (ended || stopped) break;
      await new Promise((resolve) => setTimeout(resolve, retryMs));
    }
    handlers.onState?.("closed");
  };
  void run();
  return () => {
    stopped = true;
    controller?.abort();
  };
}
