// A validate job's report: score, rules per table with samples and fixes, and the score's trend.

import ExpandMoreIcon from "@mui/icons-material/ExpandMore";
import Accordion from "@mui/material/Accordion";
import AccordionDetails from "@mui/material/AccordionDetails";
import AccordionSummary from "@mui/material/AccordionSummary";
import Alert from "@mui/material/Alert";
import Box from "@mui/material/Box";
import Chip from "@mui/material/Chip";
import CircularProgress from "@mui/material/CircularProgress";
import Paper from "@mui/material/Paper";
import Stack from "@mui/material/Stack";
import Table from "@mui/material/Table";
import TableBody from "@mui/material/TableBody";
import TableCell from "@mui/material/TableCell";
import TableContainer from "@mui/material/TableContainer";
import TableHead from "@mui/material/TableHead";
import TableRow from "@mui/material/TableRow";
import Typography from "@mui/material/Typography";
import { LineChart } from "@mui/x-charts/LineChart";
import { useReport } from "../api/hooks";
import StatusChip from "../components/StatusChip";
import { count, json, moment } from "../format";

export default function ReportView({ jobId }: { jobId: string }) {
  const report = useReport(jobId, true);
  if (report.isLoading) return <CircularProgress aria-label="Loading the report" />;
  if (report.error) return <Alert severity="info">{report.error.message}</Alert>;
  const r = report.data!;
  const delta = r.trend?.delta;
  return (
    <Box data-testid="report">
      <Stack direction={{ xs: "column", sm: "row" }} spacing={2} sx={{ mb: 2 }}>
        <Paper variant="outlined" sx={{ p: 2, minWidth: 180 }}>
          <Typography variant="overline" component="h3">
            Quality score
          </Typography>
          <Typography variant="h3" component="p" data-testid="score">
            {r.score}
          </Typography>
          <Typography variant="body2" color="text.secondary">
            of 100{delta !== undefined && delta !== null ? ` · ${delta >= 0 ? "+" : ""}${delta} since the run before` : ""}
          </Typography>
          {r.result && (
            <Chip sx={{ mt: 1 }} color={r.result.passed ? "success" : "error"} label={r.result.passed ? `passed at ${r.result.fail_on}` : `${r.result.failed} rule(s) failed at ${r.result.fail_on}`} />
          )}
        </Paper>
        <Paper variant="outlined" sx={{ p: 2, flex: 1, minWidth: 0 }}>
          <Typography variant="overline" component="h3">
            Suite {r.suite} on {r.target}
          </Typography>
          <Stack direction="row" spacing={1} useFlexGap flexWrap="wrap" sx={{ my: 1 }}>
            {Object.entries(r.counts).map(([status, n]) => (
              <Chip key={status} label={`${n} ${status}`} variant="outlined" />
            ))}
            <Chip label={`${count(r.rows)} rows`} variant="outlined" />
          </Stack>
          {r.history.length > 1 ? (
            <Box sx={{ height: 180 }} role="img" aria-label={`Score of the last ${r.history.length} runs: ${r.history.map((h) => h.score).join(", ")}`}>
              <LineChart
                xAxis={[{ data: r.history.map((h, n) => `${n + 1}. ${moment(h.at)}`), scaleType: "point", tickLabelStyle: { fontSize: 10 } }]}
                yAxis={[{ min: 0, max: 100 }]}
                series={[{ data: r.history.map((h) => h.score), label: "score", showMark: true }]}
                height={180}
                margin={{ left: 10, right: 10, top: 10, bottom: 10 }}
              />
            </Box>
          ) : (
            <Typography variant="body2" color="text.secondary">
              The trend shows once the suite has run on this target more than once.
            </Typography>
          )}
        </Paper>
      </Stack>
      {r.errors.map((e) => (
        <Alert key={e.table} severity="error" sx={{ mb: 1 }}>
          {e.table}: {e.error}
        </Alert>
      ))}
      {r.tables.map((t) => (
        <Accordion key={t.table} defaultExpanded={r.tables.length <= 3} disableGutters>
          <AccordionSummary expandIcon={<ExpandMoreIcon />}>
            <Typography component="h3" sx={{ fontWeight: 600, mr: 2 }}>
              {t.table}
            </Typography>
            <Typography color="text.secondary">
              score {t.score} · {count(t.rows)} rows · {t.rules.length} rules
            </Typography>
          </AccordionSummary>
          <AccordionDetails>
            <TableContainer tabIndex={0} aria-label="Rules, scrollable">
              <Table size="small" aria-label={`Rules of ${t.table}`}>
                <TableHead>
                  <TableRow>
                    <TableCell>Status</TableCell>
                    <TableCell>Rule</TableCell>
                    <TableCell>Severity</TableCell>
                    <TableCell align="right">Failing</TableCell>
                    <TableCell>Fix and samples</TableCell>
                  </TableRow>
                </TableHead>
                <TableBody>
                  {t.rules.map((rule) => (
                    <TableRow key={rule.name}>
                      <TableCell>
                        <StatusChip status={rule.status} />
                      </TableCell>
                      <TableCell>
                        <strong>{rule.name}</strong>
                        {rule.message && (
                          <Typography variant="body2" color="text.secondary">
                            {rule.message}
                          </Typography>
                        )}
                      </TableCell>
                      <TableCell>{rule.severity}</TableCell>
                      <TableCell align="right">
                        {count(rule.failing)} / {count(rule.checked)}
                        <Typography variant="caption" display="block" color="text.secondary">
                          {rule.percent}%
                        </Typography>
                      </TableCell>
                      <TableCell sx={{ maxWidth: 420 }}>
                        {rule.fix && <Typography variant="body2">{rule.fix}</Typography>}
                        {rule.samples.length > 0 && (
                          <details>
                            <summary>{rule.samples.length} sample row(s)</summary>
                            <pre className="code">{json(rule.samples)}</pre>
                          </details>
                        )}
                      </TableCell>
                    </TableRow>
                  ))}
                </TableBody>
              </Table>
            </TableContainer>
          </AccordionDetails>
        </Accordion>
      ))}
      <Typography variant="caption" color="text.secondary" sx={{ display: "block", mt: 1 }}>
        Ran {moment(r.created_at)}
      </Typography>
    </Box>
  );
}
