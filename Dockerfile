FROM python:3.13-slim
# PORT: gunicorn binds 0.0.0.0:$PORT, and the embedded QuickSight endpoint follows it.
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 VAR_DIR=/data PORT=8000
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
# With production's settings (DEBUG off) collectstatic writes the manifest production reads: with
# DEBUG on it writes none and every page answers 500. The build holds no secret and serves nothing.
# tests/test_deploy_replay.py runs this very line.
RUN DEBUG=false SECRET_KEY=collectstatic-at-build-needs-no-secret AUDIT_CHAIN_KEY=collectstatic-at-build-writes-no-audit-event QUICKSIGHT_LOCAL_MOUNTED=false python manage.py collectstatic --noinput
RUN useradd --create-home portal && mkdir -p /data && chown portal /data
USER portal
EXPOSE 8000
# The same command as docker-compose.yml's web service (tests/test_compose.py keeps them equal).
CMD ["gunicorn", "portal.wsgi:application", "--workers", "3", "--timeout", "60", "--config", "python:portal.gunicorn_conf"]
