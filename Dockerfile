FROM python:3.11-slim
WORKDIR /srv
COPY pyproject.toml ./
COPY app ./app
COPY migrations ./migrations
COPY alembic.ini ./
RUN pip install --no-cache-dir .
USER nobody
EXPOSE 8000
CMD ["wxbroker", "serve", "--host", "0.0.0.0", "--port", "8000"]
