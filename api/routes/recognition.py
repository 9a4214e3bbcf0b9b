from fastapi import APIRouter

router = APIRouter(tags=["activity completion, trainings, evaluations, commendations and stars"])
