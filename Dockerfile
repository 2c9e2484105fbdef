# syntax=docker/dockerfile:1
FROM python:3.11-slim AS build
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY pyproject.toml README.md ./
COPY service ./service
RUN pip install --no-cache-dir .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 alloy
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1
USER alloy
EXPOSE 8080
ENTRYPOINT ["alloy-scripting"]
CMD ["serve"]
