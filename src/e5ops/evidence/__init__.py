"""Evidence: every run recorded as a signed, chained in-toto Statement in a DSSE envelope."""

from e5ops.evidence.recorder import RunRecorder, TaskRecord, recover_stale
from e5ops.evidence.redact import Redactor
from e5ops.evidence.session import EvidenceConfig, start_run
from e5ops.evidence.steps import GATES, STEPS, Step, step
from e5ops.evidence.store import EvidenceStore, StoredRecord, Subject
from e5ops.evidence.verify import VerifyReport, verify_directory

__all__ = [
    "GATES",
    "STEPS",
    "EvidenceConfig",
    "EvidenceStore",
    "Redactor",
    "RunRecorder",
    "Step",
    "StoredRecord",
    "Subject",
    "TaskRecord",
    "VerifyReport",
    "recover_stale",
    "start_run",
    "step",
    "verify_directory",
]
