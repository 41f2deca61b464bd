"""Raw copies of report documents in S3, exactly as Amazon served them (compressed if it was).

The ``Content-Type`` Amazon served a document with (its charset) is the S3 object's own
``ContentType``, so a resumed ingestion decodes the copy exactly as the first part did.
"""

from __future__ import annotations

from typing import IO, Any

from botocore.exceptions import ClientError

from sellerstream import aws

UNKNOWN_CONTENT_TYPE = "application/octet-stream"


class StoredDocument:
    __slots__ = ("body", "content_type", "size")

    def __init__(self, body: Any, content_type: str | None, size: int) -> None:
        self.body = body  # a streaming body: read in chunks, then close
        self.content_type = content_type
        self.size = size


class S3DocumentStore:
    def __init__(self, bucket: str) -> None:
        self._bucket = bucket

    @property
    def bucket(self) -> str:
        return self._bucket

    def exists(self, key: str) -> bool:
        try:
            aws.client("s3").head_object(Bucket=self._bucket, Key=key)
        except ClientError as error:
            if error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def upload(self, key: str, stream: IO[bytes], *, content_type: str | None) -> None:
        # upload_fileobj streams in parts: memory stays flat whatever the document's size.
        aws.client("s3").upload_fileobj(
            stream, self._bucket, key, ExtraArgs={"ContentType": content_type or UNKNOWN_CONTENT_TYPE}
        )

    def open(self, key: str) -> StoredDocument:
        response = aws.client("s3").get_object(Bucket=self._bucket, Key=key)
        content_type = response.get("ContentType")
        return StoredDocument(
            response["Body"],
            None if content_type in (None, UNKNOWN_CONTENT_TYPE) else content_type,
            int(response.get("ContentLength") or 0),
        )
