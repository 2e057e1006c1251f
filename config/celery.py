"""Celery application: Redis when CELERY_BROKER_URL is set, a local folder broker otherwise."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("samhub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
