"""The agents pages: the list, the editor (persona, model, behaviour), knowledge and playground."""

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
