import { useNavigate, useParams } from "react-router-dom";
import JobDetails from "./JobDetails";
import PageTitle from "./PageTitle";

export default function JobPage() {
  const { id = "" } = useParams();
  const navigate = useNavigate();
  return (
    <>
      <PageTitle title="Job" />
      <JobDetails id={id} onDeleted={() => navigate("/history")} headed />
    </>
  );
}
