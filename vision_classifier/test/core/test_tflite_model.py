import cv2
import numpy as np
import pytest
from support import EXPECTED_TOP, fixture_model
from vision_classifier.core.postprocess import softmax
from vision_classifier.core.tflite_model import interpreter_class, ModelConfig, ModelError, TfliteCpuModel
from vision_classifier.core.vision import VisionService

RNG = np.random.default_rng(7)


def direct(model_file, tensor):
    """Return the model's raw output for `tensor`, straight from the interpreter, and its output details."""
    interpreter = interpreter_class()(model_path=model_file)
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]['index'], tensor)
    interpreter.invoke()
    out = interpreter.get_output_details()[-1]
    return interpreter.get_tensor(out['index']), out


def random_image(height=8, width=8):
    return RNG.integers(0, 256, (height, width, 3), dtype=np.uint8)


def solid(rgb, height=8, width=8):
    return np.full((height, width, 3), rgb, np.uint8)


@pytest.mark.parametrize('name', sorted(EXPECTED_TOP))
def test_real_model_classifies_real_photos(default_model, photos, name):
    results = VisionService(TfliteCpuModel(ModelConfig(default_model))).classify(photos[name], 5)
    assert results[0].class_name in EXPECTED_TOP[name]
    assert all(0.0 <= c.confidence <= 1.0 for c in results)
    assert [c.confidence for c in results] == sorted((c.confidence for c in results), reverse=True)


def test_a_tensor_made_by_the_preprocessor_classifies_as_its_image(default_model, photos):
    """The bag tool preprocesses in its decoding threads, then classifies the tensor: the same results."""
    service = VisionService(TfliteCpuModel(ModelConfig(default_model)))
    bgr = cv2.cvtColor(photos['coffee.png'], cv2.COLOR_RGB2BGR)
    tensor = service.model.preprocessor(bgr, 'bgr')
    assert service.classify_tensor(tensor, 5) == service.classify(bgr, 5, 'bgr')
    assert service.classify_tensor(tensor, 5)[0].class_name in EXPECTED_TOP['coffee.png']


def test_real_model_confidences_are_dequantized_probabilities(default_model, photos):
    model = TfliteCpuModel(ModelConfig(default_model))
    scores = model.scores(photos['coffee.png'])
    resized = cv2.resize(photos['coffee.png'], (224, 224), interpolation=cv2.INTER_LINEAR)
    raw, out = direct(default_model, resized[None])
    scale, zero_point = out['quantization']
    np.testing.assert_allclose(scores, (raw.ravel().astype(float) - zero_point) * scale)
    assert abs(scores.sum() - 1.0) < 0.05


def test_float_model_gets_normalized_input_and_softmax_over_logits():
    image = random_image()
    scores = TfliteCpuModel(ModelConfig(fixture_model('float_nhwc_logits.tflite'))).scores(image)
    logits, _ = direct(fixture_model('float_nhwc_logits.tflite'),
                       ((image / 255.0 - 0.5) / 0.5).astype(np.float32)[None])
    assert logits.min() < 0 or logits.max() > 1
    np.testing.assert_allclose(scores, softmax(logits.ravel().astype(float)), rtol=1e-5)


def test_explicit_mean_and_std_are_used_per_channel():
    image = random_image()
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    config = ModelConfig(fixture_model('float_nhwc_logits.tflite'),
                         input_image_mean_value=mean, input_image_std_dev=std)
    logits, _ = direct(config.model_path, ((image / 255.0 - mean) / std).astype(np.float32)[None])
    np.testing.assert_allclose(TfliteCpuModel(config).scores(image), softmax(logits.ravel().astype(float)),
                               rtol=1e-5)


def test_model_metadata_normalization_is_used_when_not_configured():
    image = random_image()
    model = TfliteCpuModel(ModelConfig(fixture_model('with_metadata.tflite')))
    mean, std = np.array([100.0, 110.0, 120.0]), np.array([50.0, 60.0, 70.0])
    logits, _ = direct(fixture_model('with_metadata.tflite'), ((image - mean) / std).astype(np.float32)[None])
    np.testing.assert_allclose(model.scores(image), softmax(logits.ravel().astype(float)), rtol=1e-5)


def test_nchw_probabilities_are_not_softmaxed_again():
    image = random_image()
    scores = TfliteCpuModel(ModelConfig(fixture_model('float_nchw_probs.tflite'))).scores(image)
    normalized = ((image / 255.0 - 0.5) / 0.5).astype(np.float32).transpose(2, 0, 1)
    probs, _ = direct(fixture_model('float_nchw_probs.tflite'), normalized[None])
    np.testing.assert_allclose(scores, probs.ravel(), rtol=1e-6)


def test_input_1x3xHx3_is_nhwc_three_rows_as_the_readme_says():
    """Dimension 1 is 3 but so is dimension 3: NHWC, a 3-row image (Viam's rule would read it NCHW)."""
    path = fixture_model('float_3x8_nhwc.tflite')
    model = TfliteCpuModel(ModelConfig(path))
    assert not model.preprocessor.spec.channels_first and model.preprocessor.spec.size == (3, 8)
    for index, rgb in enumerate([(255, 0, 0), (0, 255, 0), (0, 0, 255)]):
        assert int(np.argmax(model.scores(solid(rgb, 30, 80)))) == index, rgb
    image = random_image(3, 8)
    logits, _ = direct(path, ((image / 255.0 - 0.5) / 0.5).astype(np.float32)[None])
    np.testing.assert_allclose(model.scores(image), softmax(logits.ravel().astype(float)), rtol=1e-5)


def test_int8_model_gets_quantized_input_and_dequantized_output():
    image = random_image()
    model = TfliteCpuModel(ModelConfig(fixture_model('int8_quant.tflite')))
    spec = model.preprocessor.spec
    quantized = np.clip(np.rint(((image / 255.0 - 0.5) / 0.5) / spec.scale) + spec.zero_point, -128, 127)
    raw, out = direct(fixture_model('int8_quant.tflite'), quantized.astype(np.int8)[None])
    scale, zero_point = out['quantization']
    assert raw.dtype == np.int8
    np.testing.assert_allclose(model.scores(image), (raw.ravel().astype(float) - zero_point) * scale)


@pytest.mark.parametrize('name', ['int8_quant.tflite', 'uint8_quant.tflite', 'float_nchw_probs.tflite',
                                  'float_nhwc_logits.tflite'])
@pytest.mark.parametrize('colour,index', [((255, 0, 0), 0), ((0, 255, 0), 1), ((0, 0, 255), 2)])
def test_fixture_models_pick_the_solid_colour(name, colour, index):
    scores = TfliteCpuModel(ModelConfig(fixture_model(name))).scores(solid(colour))
    assert scores.argmax() == index
    assert scores.min() >= 0.0 and scores.max() <= 1.0


def test_uint8_model_gets_raw_pixels():
    image = random_image()
    raw, out = direct(fixture_model('uint8_quant.tflite'), image[None])
    scale, zero_point = out['quantization']
    scores = TfliteCpuModel(ModelConfig(fixture_model('uint8_quant.tflite'))).scores(image)
    np.testing.assert_allclose(scores, (raw.ravel().astype(float) - zero_point) * scale)


def test_bgr_models_get_channels_swapped():
    model = TfliteCpuModel(ModelConfig(fixture_model('float_nhwc_logits.tflite'), input_image_bgr=True))
    assert model.scores(solid((255, 0, 0))).argmax() == 2


def test_any_source_size_is_resized_bilinearly():
    image = random_image(37, 53)
    model = TfliteCpuModel(ModelConfig(fixture_model('float_nhwc_logits.tflite')))
    resized = cv2.resize(image, (8, 8), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_allclose(model.scores(image), model.scores(resized), rtol=1e-6)
    nearest = cv2.resize(image, (8, 8), interpolation=cv2.INTER_NEAREST)
    assert not np.allclose(model.scores(image), model.scores(nearest), rtol=1e-6)


def test_channel_orders_give_the_same_scores():
    image = random_image(20, 30)
    model = TfliteCpuModel(ModelConfig(fixture_model('float_nhwc_logits.tflite')))
    expected = model.scores(image)
    np.testing.assert_allclose(model.scores(np.ascontiguousarray(image[:, :, ::-1]), 'bgr'), expected, rtol=1e-6)
    rgba = np.dstack([image, np.zeros(image.shape[:2], np.uint8)])
    np.testing.assert_allclose(model.scores(rgba, 'rgba'), expected, rtol=1e-6)


@pytest.mark.parametrize('content,message', [
    (None, 'no such file'),
    (b'', r'not a TFLite model \(empty file\)'),
    (b'hello, this is not a model at all', r'not a TFLite model \(no TFL3 identifier\)'),
])
def test_unusable_model_files_name_the_cause(tmp_path, content, message):
    path = tmp_path / 'model.tflite'
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ModelError, match=f'model.tflite: {message}'):
        TfliteCpuModel(ModelConfig(str(path)))


def test_truncated_model_names_the_cause(tmp_path, default_model):
    path = tmp_path / 'cut.tflite'
    path.write_bytes(open(default_model, 'rb').read()[:4096])
    with pytest.raises(ModelError, match='cut.tflite: cannot load'):
        TfliteCpuModel(ModelConfig(str(path)))


def test_model_with_two_outputs_is_rejected():
    with pytest.raises(ModelError, match='2 outputs and none named "probability"'):
        TfliteCpuModel(ModelConfig(fixture_model('two_outputs.tflite')))


@pytest.mark.parametrize('threads', [0, -1, '2', True, 1.5])
def test_num_threads_must_be_a_positive_integer(threads):
    with pytest.raises(ModelError, match='num_threads: expected an integer of at least 1'):
        TfliteCpuModel(ModelConfig(fixture_model('float_nhwc_logits.tflite'), num_threads=threads))


def test_zero_std_is_rejected():
    with pytest.raises(ModelError, match='input_image_std_dev: must not be 0'):
        TfliteCpuModel(ModelConfig(fixture_model('float_nhwc_logits.tflite'), input_image_std_dev=(0.5, 0, 0.5)))
