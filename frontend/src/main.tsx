import CssBaseline from "@mui/material/CssBaseline";
import { ThemeProvider } from "@mui/material/styles";
import useMediaQuery from "@mui/material/useMediaQuery";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { StrictMode, Suspense, useMemo, useState } from "react";
import CircularProgress from "@mui/material/CircularProgress";
import { createRoot } from "react-dom/client";
import { BrowserRouter, Navigate, Route, Routes } from "react-router-dom";
import { ApiError } from "./api/client";
import { useApiPaths } from "./api/hooks";
import { LiveProvider } from "./components/Live";
import Login from "./components/Login";
import { NotifyProvider } from "./components/Notify";
import "./main.css";
import { available } from "./nav";
import JobPage from "./pages/JobPage";
import NotFound from "./pages/NotFound";
import Shell from "./Shell";
import { makeTheme } from "./theme";

const queries = new QueryClient({
  defaultOptions: {
    queries: {
      retry: (n, error) => !(error instanceof ApiError && error.status >= 400 && error.status < 500) && n < 2,
      refetchOnWindowFocus: false,
    },
  },
});

const MODE_KEY = "batchyard.mode";

function App() {
  const prefersDark = useMediaQuery("(prefers-color-scheme: dark)", { noSsr: true });
  const [chosen, setChosen] = useState<"light" | "dark" | null>(() => localStorage.getItem(MODE_KEY) as "light" | "dark" | null);
  const mode = chosen ?? (prefersDark ? "dark" : "light");
  const theme = useMemo(() => makeTheme(mode), [mode]);
  const paths = useApiPaths();
  const sections = available(paths.data);
  const toggle = () => {
    const next = mode === "dark" ? "light" : "dark";
    localStorage.setItem(MODE_KEY, next);
    setChosen(next);
  };
  return (
    <ThemeProvider theme={theme}>
      <CssBaseline enableColorScheme />
      <NotifyProvider>
        <Shell sections={sections} mode={mode} onToggleMode={toggle}>
          <Suspense fallback={<CircularProgress aria-label="Loading" />}>
          <Routes>
            <Route path="/" element={<Navigate to="/active" replace />} />
            {sections.flatMap((s) => s.pages).map((p) => (
              <Route key={p.path} path={p.path} element={<p.element />} />
            ))}
            {sections.flatMap((s) => s.pages).flatMap((p) =>
              p.detail ? [<Route key={`${p.path}/:`} path={`${p.path}/:${p.detail.param}`} element={<p.detail.element />} />] : [],
            )}
            <Route path="/jobs/:id" element={<JobPage />} />
            {/* Until the API says which pages it serves, a page not known yet may still come. */}
            <Route path="*" element={paths.isPending ? <CircularProgress aria-label="Loading" /> : <NotFound />} />
          </Routes>
          </Suspense>
        </Shell>
        <Login />
      </NotifyProvider>
    </ThemeProvider>
  );
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <QueryClientProvider client={queries}>
      <LiveProvider>
        <BrowserRouter>
          <App />
        </BrowserRouter>
      </LiveProvider>
    </QueryClientProvider>
  </StrictMode>,
);
