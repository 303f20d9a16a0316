using Grpc.Core;
using Mlops.Host.Protocol;
using GrpcRpcException = Grpc.Core.RpcException;

namespace Mlops.Host.Worker;

/// <summary>
/// The host side of FunctionRpc.EventStream: the worker opens the stream with StartStream carrying the worker id it
/// was started with; the stream is handed to that worker's session for as long as it stays open.
/// </summary>
internal sealed class FunctionRpcService(WorkerHost workers) : FunctionRpc.FunctionRpcBase
{
    public override async Task EventStream(
        IAsyncStreamReader<StreamingMessage> requestStream,
        IServerStreamWriter<StreamingMessage> responseStream,
        ServerCallContext context
    )
    {
        if (!await requestStream.MoveNext(context.CancellationToken))
            return;
        var first = requestStream.Current;
        if (first.ContentCase != StreamingMessage.ContentOneofCase.StartStream)
            throw new GrpcRpcException(
                new Status(StatusCode.InvalidArgument, "The first message on the event stream must be StartStream.")
            );
        var session = workers.FindSession(first.StartStream.WorkerId)
            ?? throw new GrpcRpcException(
                new Status(StatusCode.NotFound, $"No worker was started with id {first.StartStream.WorkerId}.")
            );
        await session.RunStreamAsync(requestStream, responseStream, context.CancellationToken);
    }
}
