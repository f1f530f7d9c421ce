import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The build goes into the Python package, which serves it at / (batchyard serve).
export default defineConfig({
  plugins: [react()],
  base: "/",
  build: {
    outDir: "../src/batchyard/web/static",
    emptyOutDir: true,
    chunkSizeWarningLimit: 2000,
  },
  server: {
    // `npm run dev` next to `batchyard serve` on :8000.
    proxy: { "/api": "http://127.0.0.1:8000", "/metrics": "http://127.0.0.1:8000" },
  },
});
