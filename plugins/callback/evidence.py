# Copyright: e5ops developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Record every ansible-playbook run as signed E5 evidence.

A thin adapter: the recording itself lives in the e5ops Python package
(``e5ops.evidence``), shared with ``e5ops run``, so that both paths write
the same record.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: evidence
type: aggregate
short_description: Record each playbook run as a signed E5 evidence record
description:
  - Writes one evidence record per playbook run to the evidence directory,
    as Markdown, a JSON twin and a DSSE envelope holding an in-toto Statement v1
    signed with the project's Ed25519 key, chained to the record before it.
  - Secrets are redacted before anything is written. Results of C(no_log)
    tasks are dropped entirely; values of keys matching the redaction pattern
    and plaintexts of vault-encrypted variables are replaced.
  - A run cut short by SIGINT or SIGTERM writes a record marked incomplete.
    If the controller is killed outright, the next recorded run turns the
    journal it left into an incomplete record.
  - Stays silent when the run comes from C(e5ops run), which records the run
    itself.
requirements:
  - the e5ops Python package in the interpreter that runs ansible-playbook
  - a signing key, made once with C(e5ops evidence init)
options:
  evidence_dir:
    description:
      - Where records are written. Relative paths are relative to the
        directory of the ansible.cfg in use, or the current directory.
    default: evidence/e5
    env:
      - name: E5OPS_EVIDENCE_DIR
    ini:
      - section: e5ops_evidence
        key: dir
  key:
    description:
      - The private Ed25519 signing key. Its passphrase, if any, is read from
        E5OPS_EVIDENCE_PASSPHRASE.
    default: .e5ops/keys/evidence.key
    env:
      - name: E5OPS_EVIDENCE_KEY
    ini:
      - section: e5ops_evidence
        key: key
  step:
    description:
      - The E5 step (01 to 04) the run is an attempt at. Without one, the run
        is recorded as C(run_<playbook>).
    env:
      - name: E5OPS_EVIDENCE_STEP
  redact_pattern:
    description:
      - Regular expression of key names whose values are redacted.
    env:
      - name: E5OPS_REDACT_PATTERN
    ini:
      - section: e5ops_evidence
        key: redact_pattern
"""

import atexit
import os
import signal
from datetime import datetime, timezone
from pathlib import Path

from ansible import constants as C
from ansible import context
from ansible.plugins.callback import CallbackBase

try:
    from e5ops.evidence.keys import default_private_key
    from e5ops.evidence.redact import DEFAULT_KEY_PATTERN
    from e5ops.evidence.session import EvidenceConfig, start_run
    from e5ops.evidence.store import subject_for
    from e5ops.evidence.vault import vault_plaintexts
    from e5ops.errors import E5opsError
except ImportError as exc:  # the plugin reports this once, when the run starts
    IMPORT_ERROR = exc
else:
    IMPORT_ERROR = None


def _now():
    return datetime.now(tz=timezone.utc).isoformat()


class CallbackModule(CallbackBase):
    """Feed the run's results to e5ops' evidence recorder."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "e5ops.production.evidence"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._recorder = None
        self._play = ""
        self._starts = {}
        self._pid = os.getpid()
        self._previous_sigterm = None

    def _base(self):
        config_file = C.CONFIG_FILE
        return Path(config_file).resolve().parent if config_file else Path.cwd()

    def v2_playbook_on_start(self, playbook):
        if os.environ.get("E5OPS_EVIDENCE_RECORDER") == "runner":
            return
        if self._recorder is not None:
            # Several playbooks on one command line make one run, and one record.
            self._recorder.subjects.append(
                subject_for(Path(playbook._file_name), kind="playbook", base=self._base())
            )
            return
        if IMPORT_ERROR is not None:
            self._display.warning(f"e5ops evidence not recorded: {IMPORT_ERROR}")
            return
        base = self._base()
        directory = Path(self.get_option("evidence_dir") or "evidence/e5")
        key = Path(self.get_option("key") or default_private_key(base))
        config = EvidenceConfig(
            base=base,
            directory=directory if directory.is_absolute() else base / directory,
            key=key if key.is_absolute() else base / key,
            key_pattern=self.get_option("redact_pattern") or DEFAULT_KEY_PATTERN,
        )
        args = context.CLIARGS
        tags = [t for t in args.get("tags", ()) if t != "all"]
        redactor = config.redactor()
        for secret in vault_plaintexts(loader=playbook._loader, sources=args.get("inventory") or ()):
            redactor.add_secret(secret)
        try:
            self._recorder = start_run(
                config,
                playbook=Path(playbook._file_name),
                inventory=[Path(p) for p in args.get("inventory") or ()],
                limit=args.get("subset") or None,
                tags=",".join(tags) or None,
                check=bool(args.get("check")),
                recorder="callback",
                step_key=self.get_option("step") or None,
                redactor=redactor,
            )
        except E5opsError as exc:
            self._display.warning(f"e5ops evidence not recorded: {exc}")
            return
        atexit.register(self._interrupted, "ansible-playbook stopped before the run ended")
        self._previous_sigterm = signal.signal(signal.SIGTERM, self._sigterm)

    def _interrupted(self, reason):
        if self._recorder is not None and os.getpid() == self._pid:
            self._recorder.abort(reason)

    def _sigterm(self, signum, frame):
        if os.getpid() == self._pid:
            self._interrupted("ansible-playbook received SIGTERM")
        previous = self._previous_sigterm
        if callable(previous):
            previous(signum, frame)
        else:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

    def v2_playbook_on_play_start(self, play):
        self._play = play.get_name()

    def v2_runner_on_start(self, host, task):
        self._starts[(host.get_name(), task._uuid)] = _now()

    def _result(self, result, status, ignored=False):
        if self._recorder is None:
            return
        host = result._host.get_name()
        task = result._task
        self._recorder.task_result(
            host=host,
            task=task.get_name(),
            play=self._play,
            action=task.resolved_action or task.action,
            status=status,
            result=result._result,
            ignored=ignored,
            started=self._starts.pop((host, task._uuid), None),
            ended=_now(),
        )

    def v2_runner_on_ok(self, result):
        self._result(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        # ansible-core 2.19 passes None for a task without ignore_errors.
        self._result(result, "failed", ignored=bool(ignore_errors))

    def v2_runner_on_skipped(self, result):
        self._result(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._result(result, "unreachable")

    def v2_playbook_on_stats(self, stats):
        if self._recorder is None:
            return
        hosts = {host: stats.summarize(host) for host in sorted(stats.processed)}
        rc = 0
        if any(s["unreachable"] for s in hosts.values()):
            rc = 4
        elif any(s["failures"] for s in hosts.values()):
            rc = 2
        try:
            stored = self._recorder.finish(
                hosts=hosts, published=dict(stats.custom.get("_run", {})), rc=rc
            )
        except E5opsError as exc:
            self._display.warning(f"e5ops evidence not recorded: {exc}")
            return
        if stored is not None:
            self._display.display(f"evidence: {stored.envelope}")
