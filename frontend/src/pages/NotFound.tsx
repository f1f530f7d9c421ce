import Link from "@mui/material/Link";
import Paper from "@mui/material/Paper";
import Typography from "@mui/material/Typography";
import { Link as RouterLink } from "react-router-dom";

export default function NotFound() {
  return (
    <Paper sx={{ p: 3 }}>
      <Typography variant="h5" component="h1" gutterBottom>
        No such page
      </Typography>
      <Typography>
        See the <Link component={RouterLink} to="/active" underline="always">active jobs</Link> or the{" "}
        <Link component={RouterLink} to="/history" underline="always">history</Link>; the REST API's documentation is at{" "}
        <Link href="/api/docs" underline="always">/api/docs</Link>.
      </Typography>
    </Paper>
  );
}
