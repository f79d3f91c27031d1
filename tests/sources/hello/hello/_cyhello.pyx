def pointer_bits():
    return sizeof(void*) * 8
