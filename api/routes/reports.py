from fastapi import APIRouter

router = APIRouter(tags=["service records, rankings and organisation reports"])
