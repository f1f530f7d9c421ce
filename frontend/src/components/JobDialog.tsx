import CloseIcon from "@mui/icons-material/Close";
import OpenInNewIcon from "@mui/icons-material/OpenInNew";
import Dialog from "@mui/material/Dialog";
import DialogContent from "@mui/material/DialogContent";
import DialogTitle from "@mui/material/DialogTitle";
import IconButton from "@mui/material/IconButton";
import Tooltip from "@mui/material/Tooltip";
import useMediaQuery from "@mui/material/useMediaQuery";
import { useTheme } from "@mui/material/styles";
import { Link as RouterLink } from "react-router-dom";
import JobDetails from "../pages/JobDetails";

/** A job's details over the table it was opened from. */
export default function JobDialog({ id, onClose }: { id: string | null; onClose: () => void }) {
  const theme = useTheme();
  const phone = useMediaQuery(theme.breakpoints.down("sm"), { noSsr: true });
  return (
    <Dialog open={!!id} onClose={onClose} fullWidth maxWidth="lg" fullScreen={phone} aria-labelledby="job-dialog-title" scroll="paper">
      <DialogTitle id="job-dialog-title" sx={{ pr: 12, wordBreak: "break-all" }}>
        {id}
        <Tooltip title="Open as a page">
          <IconButton component={RouterLink} to={`/jobs/${id}`} aria-label="Open as a page" sx={{ position: "absolute", right: 52, top: 10 }}>
            <OpenInNewIcon />
          </IconButton>
        </Tooltip>
        <IconButton aria-label="Close" onClick={onClose} sx={{ position: "absolute", right: 8, top: 10 }}>
          <CloseIcon />
        </IconButton>
      </DialogTitle>
      <DialogContent dividers>{id && <JobDetails id={id} onDeleted={onClose} />}</DialogContent>
    </Dialog>
  );
}
