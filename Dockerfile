# One image for web, worker and beat (docker-compose.yml picks the command).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=salesops.settings.production \
    PORT=8000

RUN useradd --create-home --uid 1000 salesops
WORKDIR /app

COPY requirements.lock ./
RUN pip install --no-cache-dir --require-hashes -r requirements.lock

COPY --chown=salesops:salesops . .
# collectstatic needs settings but no database: give the build throwaway values.
RUN DATABASE_URL=postgres://build@localhost/build REDIS_URL=redis://localhost:6379/0 \
    DJANGO_SECRET_KEY=build-only-throwaway-key-for-collectstatic-not-a-secret-0000 DJANGO_ALLOWED_HOSTS=localhost \
    python manage.py collectstatic --noinput

# Uploaded files (imports, quota uploads) live here; docker-compose.yml mounts one volume on it for web and
# worker, which must share it (the web process stores a file, a worker reads it).
RUN mkdir -p /app/var/media /app/var/beat && chown -R salesops:salesops /app/var

USER salesops
EXPOSE 8000
CMD ["sh", "-c", "gunicorn salesops.wsgi:application --bind 0.0.0.0:${PORT} --workers ${WEB_CONCURRENCY:-3} --access-logfile -"]
