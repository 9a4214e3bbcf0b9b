from fastapi import APIRouter

router = APIRouter(tags=["back-fills and disputes"])
