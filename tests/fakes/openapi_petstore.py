"""A small pet store API on 127.0.0.1, with its OpenAPI 3.0 document (YAML) and a Swagger 2.0 one (JSON).

`GET /pets?limit=` lists pets, `GET /pets/{petId}` shows one, `POST /pets` adds one (JSON body).
Every route needs `X-API-Key: pet-key`; `fake.requests` records method, path, query, headers, body.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from tests._live_server import live_server

API_KEY = "pet-key"

OPENAPI_YAML = """openapi: 3.0.3
info:
  title: Pet store
  version: 1.0.0
servers:
  - url: {server}
paths:
  /pets:
    get:
      operationId: listPets
      summary: List pets
      parameters:
        - name: limit
          in: query
          description: How many pets to answer
          schema:
            type: integer
      responses:
        '200':
          description: ok
    post:
      operationId: createPet
      summary: Add a pet
      requestBody:
        required: true
        content:
          application/json:
            schema:
              $ref: '#/components/schemas/NewPet'
      responses:
        '201':
          description: created
  /pets/{{petId}}:
    get:
      operationId: showPetById
      summary: Info for a pet
      parameters:
        - $ref: '#/components/parameters/PetId'
      responses:
        '200':
          description: ok
components:
  parameters:
    PetId:
      name: petId
      in: path
      required: true
      schema:
        type: string
  schemas:
    NewPet:
      type: object
      required: [name]
      properties:
        name:
          type: string
          description: The pet's name
        tag:
          type: string
"""

SWAGGER_JSON = {
    "swagger": "2.0",
    "info": {"title": "Pet store", "version": "1.0.0"},
    "host": "HOST",
    "basePath": "/",
    "schemes": ["http"],
    "paths": {
        "/pets/{petId}": {
            "get": {
                "operationId": "showPetById",
                "parameters": [{"name": "petId", "in": "path", "required": True, "type": "string"}],
                "responses": {"200": {"description": "ok"}},
            }
        },
        "/pets": {
            "post": {
                "operationId": "createPet",
                "parameters": [
                    {
                        "name": "pet",
                        "in": "body",
                        "schema": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]},
                    }
                ],
                "responses": {"201": {"description": "created"}},
            }
        },
    },
}


@dataclass
class PetstoreFake:
    base_url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    pets: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {"1": {"id": "1", "name": "Rex", "tag": "dog"}, "2": {"id": "2", "name": "Tom"}}
    )

    def openapi(self, server: str | None = None) -> str:
        return OPENAPI_YAML.format(server=server or self.base_url)

    def swagger(self, host: str) -> str:
        return json.dumps({**SWAGGER_JSON, "host": host}, indent=2)


def build(fake: PetstoreFake) -> FastAPI:
    app = FastAPI()

    @app.middleware("http")
    async def check(request: Request, call_next: Any) -> Response:
        body = (await request.body()).decode()
        fake.requests.append(
            {
                "method": request.method,
                "path": request.url.path,
                "query": dict(request.query_params),
                "headers": dict(request.headers),
                "body": body,
            }
        )
        if request.headers.get("x-api-key") != API_KEY:
            return JSONResponse({"message": "missing or wrong API key"}, status_code=401)
        return await call_next(request)

    @app.get("/pets")
    def list_pets(limit: int = 10) -> Response:
        return JSONResponse({"pets": list(fake.pets.values())[:limit]})

    @app.get("/pets/{pet_id}")
    def show_pet(pet_id: str) -> Response:
        pet = fake.pets.get(pet_id)
        return JSONResponse(pet) if pet else JSONResponse({"message": "no such pet"}, status_code=404)

    @app.post("/pets")
    async def create_pet(request: Request) -> Response:
        body = await request.json()
        pet = {"id": str(len(fake.pets) + 1), **body}
        fake.pets[pet["id"]] = pet
        return JSONResponse(pet, status_code=201)

    return app


@contextmanager
def petstore_fake() -> Iterator[PetstoreFake]:
    fake = PetstoreFake()
    with live_server(build(fake)) as url:
        fake.base_url = url
        yield fake
