"""Render-farm jobs as Open Job Description bundles: how a shot splits into tasks (`plan`), the
tracking bundle (`bundle`), the removal bundle (`removejob`) and submitting either to Deadline
Cloud (`submit`)."""

from mattetrack.farm.bundle import (
    FINISH,
    JOB_FILE,
    STEP,
    STORES,
    FarmJob,
    read_job,
    write_bundle,
)
from mattetrack.farm.job import make_job, session_options
from mattetrack.farm.plan import spans, tasks
from mattetrack.farm.removejob import RemovalJob, write_removal_bundle
from mattetrack.farm.submit import submit_command

__all__ = ["FINISH", "JOB_FILE", "STEP", "STORES", "FarmJob", "RemovalJob", "make_job",
           "read_job", "session_options", "spans", "submit_command", "tasks", "write_bundle",
           "write_removal_bundle"]
