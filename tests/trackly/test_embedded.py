from __future__ import annotations

import pytest
from django.conf import settings
from django.utils.module_loading import import_string


@pytest.mark.django_db
@pytest.mark.parametrize("name", list(settings.CELERY_BEAT_SCHEDULE))
def test_every_beat_task_can_be_run_in_process_by_the_embedded_default(name: str) -> None:
    # trackly.embedded runs the schedule this way when there is no broker.
    task = import_string(settings.CELERY_BEAT_SCHEDULE[name]["task"])
    result = task.apply()
    assert result.successful() and result.result == 0  # nothing to do in an empty database
