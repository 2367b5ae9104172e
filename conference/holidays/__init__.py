"""Holidays and make-up working days (节假日与调休): the calendar the working-day deadlines count on."""
